"""Reads tables landfall registered through the e2e Hive metastore with
Spark SQL (pyspark from PyPI, e2e/deps/e2e-pyspark.sh), as a user would: one
Spark start for all tables, Spark's defaults apart from the metastore URI
and the LZO codec (aircompressor's LzopCodec, which Spark ships).

    python3 query.py spec.json   # prints one JSON object, the results

spec.json: {"metastore": "thrift://…", "metastore_version": "4.0.1",
"metastore_jars": "file:///…/*.jar", "tables": [{"name": "orc",
"table": "db.logs", "columns": "orc" | "line", "id": "123",
"ts_from": …, "ts_to": …}]} where ts_from/ts_to are "yyyy-MM-dd HH:mm:ss"
wall clocks for an orc table's timestamp ts and epoch milliseconds for a
line table (JSON records in one string column). The JVM's time zone is the
caller's (TZ and -Duser.timezone, see e2e/spark_test.go).
"""
import json
import sys

from pyspark.sql import SparkSession


def main():
    spec = json.load(open(sys.argv[1]))
    b = (SparkSession.builder.appName("landfall-e2e")
         .config("spark.hadoop.hive.metastore.uris", spec["metastore"])
         .config("spark.hadoop.io.compression.codecs", "io.airlift.compress.lzo.LzopCodec"))
    if spec.get("metastore_version"):
        # Spark's built-in Hive 2.3 client calls get_table, which a Hive 4
        # metastore no longer has ("Invalid method name: 'get_table'"):
        # talk to it with Hive 4's own client jars.
        b = (b.config("spark.sql.hive.metastore.version", spec["metastore_version"])
             .config("spark.sql.hive.metastore.jars", "path")
             .config("spark.sql.hive.metastore.jars.path", spec["metastore_jars"]))
    spark = b.enableHiveSupport().getOrCreate()
    out = {"spark": spark.version,
           "jvm_zone": spark.sparkContext._jvm.java.util.TimeZone.getDefault().getID(),
           "session_zone": spark.conf.get("spark.sql.session.timeZone"),
           "tables": {}}
    for t in spec["tables"]:
        if t["columns"] == "orc":
            id_, ts = "id", "ts"
            in_range = "ts >= TIMESTAMP '%s' AND ts < TIMESTAMP '%s'" % (t["ts_from"], t["ts_to"])
        else:
            id_ = "get_json_object(line, '$.id')"
            ts = "cast(get_json_object(line, '$.ts') AS bigint)"
            in_range = "%s >= %d AND %s < %d" % (ts, t["ts_from"], ts, t["ts_to"])
        name = t["table"]
        res = {}
        res["groups"] = [
            [r[0], r[1], r[2], r[3]] for r in spark.sql(
                "SELECT log_date, log_hour, count(*), count(DISTINCT %s) FROM %s GROUP BY log_date, log_hour" % (id_, name)).collect()]
        res["id_rows"] = [
            [r[0], r[1], r[2]] for r in spark.sql(
                "SELECT log_date, log_hour, count(*) FROM %s WHERE %s = '%s' GROUP BY log_date, log_hour" % (name, id_, t["id"])).collect()]
        r = spark.sql("SELECT count(*), count(DISTINCT %s) FROM %s WHERE %s" % (id_, name, in_range)).collect()[0]
        res["ts_range"] = [r[0], r[1]]
        if t["columns"] == "orc":
            # Rows whose ts shows another date or hour than their partition.
            r = spark.sql(
                "SELECT count(*), min(CAST(ts AS string)), max(CAST(ts AS string)) FROM %s "
                "WHERE date_format(ts, 'yyyyMMdd') <> log_date OR date_format(ts, 'HH') <> log_hour" % name).collect()[0]
            res["ts_off_partition"] = [r[0], r[1], r[2]]
            r = spark.sql("SELECT min(CAST(ts AS string)), max(CAST(ts AS string)) FROM %s" % name).collect()[0]
            res["ts_min_max"] = [r[0], r[1]]
        out["tables"][t["name"]] = res
    spark.stop()
    print(json.dumps(out))


if __name__ == "__main__":
    main()

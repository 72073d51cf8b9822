#!/usr/bin/env bash
# The Kerberized Hive metastore for the e2e tests (hms_krb_test.go): hms.sh's
# metastore with metastore.sasl.enabled, as hive/localhost@LANDFALL.TEST
# from hdfs-krb.sh's KDC (start that first: it makes the principal and
# hive.keytab), on thrift://localhost:${HMS_KRB_PORT:-19483}, Derby under
# $E2E_STATE/hms-krb.
#
#   hms-krb.sh start|stop|restart|status
#
# start writes $E2E_STATE/hms-krb.env with LANDFALL_E2E_KRB_HMS once
# get_all_databases answers over SASL GSSAPI.
set -euo pipefail
export HMS_KERBEROS=1
exec bash "$(dirname "$0")/hms.sh" "$@"

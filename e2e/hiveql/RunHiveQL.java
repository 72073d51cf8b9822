// RunHiveQL runs the HiveQL statements of a file with Hive's own query
// processor (org.apache.hadoop.hive.ql.Driver) against a remote metastore,
// the way the Hive CLI would, without HiveServer2:
//
//   java -cp 'lib/*' RunHiveQL.java thrift://127.0.0.1:9083 statements.sql
//
// It is a single source file run by the java launcher (JEP 330); e2e/hiveql/run.sh
// fetches the classpath and sets the JVM flags. Statements are separated by
// ';' outside quotes and backticks; '--' starts a comment to the end of the
// line. Each statement is echoed to stderr, and what a statement returns
// (DESCRIBE, SHOW) is printed to stdout, one row a line. The first statement
// Hive rejects stops the run with Hive's message and exit status 1.
//
// Only DDL is meant to run here: no execution engine is set up, so a
// statement that needs a job (INSERT ... SELECT) fails.

import java.io.OutputStream;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import javax.tools.ToolProvider;

import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.hive.conf.HiveConf;
import org.apache.hadoop.hive.ql.DriverFactory;
import org.apache.hadoop.hive.ql.IDriver;
import org.apache.hadoop.hive.ql.processors.CommandProcessorException;
import org.apache.hadoop.hive.ql.session.SessionState;

public class RunHiveQL {
	public static void main(String[] args) {
		int rc;
		try {
			rc = run(args);
		} catch (Throwable t) {
			System.err.println("hiveql: " + t);
			t.printStackTrace();
			rc = 1;
		}
		System.out.flush();
		System.err.flush();
		// Hive leaves non-daemon threads behind; do not wait for them.
		Runtime.getRuntime().halt(rc);
	}

	static int run(String[] args) throws Exception {
		if (args.length != 2) {
			System.err.println("usage: RunHiveQL thrift://HOST:PORT statements.sql");
			return 2;
		}
		String uri = args[0];
		List<String> stmts = split(new String(Files.readAllBytes(Paths.get(args[1])), StandardCharsets.UTF_8));
		if (stmts.isEmpty()) {
			System.err.println("hiveql: no statement in " + args[1]);
			return 2;
		}

		// The settings go into a hive-site.xml rather than into one HiveConf:
		// Hive makes new HiveConfs of its own (in background threads too),
		// and each must see the remote metastore, or it starts an embedded
		// one. Everything local goes under java.io.tmpdir, which run.sh
		// makes per run and removes.
		Path tmp = Paths.get(System.getProperty("java.io.tmpdir")).toAbsolutePath();
		Configuration site = new Configuration(false);
		site.set("hive.metastore.uris", uri);
		site.set("metastore.thrift.uris", uri);
		// A client of a remote metastore: no schema check, bounded retries.
		site.set("hive.metastore.schema.verification", "false");
		site.set("hive.metastore.client.socket.timeout", "60s");
		site.set("hive.metastore.connect.retries", "3");
		site.set("hive.exec.scratchdir", "file://" + tmp + "/scratch");
		site.set("hive.exec.local.scratchdir", tmp + "/local");
		site.set("hive.downloaded.resources.dir", tmp + "/resources");
		site.set("hive.querylog.location", tmp + "/querylog");
		site.set("hive.server2.logging.operation.log.location", tmp + "/operation_logs");
		site.set("hive.metastore.warehouse.dir", "file://" + tmp + "/warehouse");
		site.set("hive.repl.rootdir", "file://" + tmp + "/repl");
		site.set("hive.repl.cmrootdir", "file://" + tmp + "/cmroot");
		// DDL runs in this process; nothing may launch a job.
		site.set("hive.execution.engine", "mr");
		site.set("mapreduce.framework.name", "local");
		site.set("hive.exec.submitviachild", "false");
		site.set("hive.stats.autogather", "false");
		site.set("hive.stats.column.autogather", "false");
		site.set("hive.query.reexecution.stats.persist.scope", "query");
		site.set("hive.support.concurrency", "false");
		site.set("hive.txn.manager", "org.apache.hadoop.hive.ql.lockmgr.DummyTxnManager");
		site.set("hive.security.authorization.enabled", "false");
		site.set("hive.server2.enable.doAs", "false");
		site.set("hive.session.history.enabled", "false");
		// Keep the tables as written: no ACID or insert-only translation.
		site.set("hive.create.as.acid", "false");
		site.set("hive.create.as.insert.only", "false");
		Path siteFile = tmp.resolve("hive-site.xml");
		try (OutputStream out = Files.newOutputStream(siteFile)) {
			site.writeXml(out);
		}
		HiveConf.setHiveSiteLocation(siteFile.toUri().toURL());
		HiveConf conf = new HiveConf(SessionState.class);

		ClassLoader loader = stubs(String.join("\n", stmts), tmp.resolve("stubs"));
		Thread.currentThread().setContextClassLoader(loader);
		conf.setClassLoader(loader);
		SessionState ss = new SessionState(conf, System.getProperty("user.name"));
		SessionState.start(ss);
		ss.getConf().setClassLoader(loader);
		try {
			for (String stmt : stmts) {
				long t0 = System.nanoTime();
				System.err.println("hiveql> " + stmt.replace("\n", "\n      > "));
				IDriver driver = DriverFactory.newDriver(conf);
				try {
					driver.run(stmt);
					if (driver.getSchema() != null && driver.getSchema().getFieldSchemas() != null
							&& !driver.getSchema().getFieldSchemas().isEmpty()) {
						List<String> rows = new ArrayList<>();
						while (driver.getResults(rows)) {
							for (String row : rows) {
								System.out.println(row);
							}
							rows.clear();
						}
					}
				} catch (CommandProcessorException e) {
					System.err.println("hiveql: FAILED (" + e.getResponseCode() + "): " + e.getMessage());
					Throwable root = e;
					while (root.getCause() != null && root.getCause() != root) {
						root = root.getCause();
					}
					if (root != e) {
						System.err.println("hiveql: root cause: " + root);
					}
					return 1;
				} finally {
					driver.close();
					driver.destroy();
				}
				System.err.printf("hiveql: ok (%d ms)%n", (System.nanoTime() - t0) / 1000000);
			}
		} finally {
			ss.close();
		}
		return 0;
	}

	// GPL_STUBS are classes that tables name but that no Maven Central jar
	// has: hadoop-lzo is GPL and published elsewhere. CREATE TABLE loads the
	// input format class named in STORED AS INPUTFORMAT to check that it
	// exists; the metastore stores only its name. So for a script that names
	// one of these, and only when the class is missing, RunHiveQL compiles an
	// empty subclass of the given Hadoop class under that name, and says so.
	static final String[][] GPL_STUBS = {
		{"com.hadoop.mapred.DeprecatedLzoTextInputFormat", "org.apache.hadoop.mapred.TextInputFormat"},
	};

	static ClassLoader stubs(String script, Path dir) throws Exception {
		ClassLoader parent = Thread.currentThread().getContextClassLoader();
		List<String> sources = new ArrayList<>();
		for (String[] stub : GPL_STUBS) {
			String name = stub[0];
			if (!script.contains(name)) {
				continue;
			}
			try {
				Class.forName(name, false, parent);
				continue;
			} catch (ClassNotFoundException e) {
				// Not on the classpath: stub it.
			}
			int dot = name.lastIndexOf('.');
			Path src = dir.resolve("src").resolve(name.replace('.', '/') + ".java");
			Files.createDirectories(src.getParent());
			Files.writeString(src, "package " + name.substring(0, dot) + ";\n"
					+ "public class " + name.substring(dot + 1) + " extends " + stub[1] + " {}\n");
			sources.add(src.toString());
			System.err.println("hiveql: note: " + name + " is not on the classpath (not on Maven Central);"
					+ " using an empty subclass of " + stub[1] + " in its place");
		}
		if (sources.isEmpty()) {
			return parent;
		}
		Path classes = dir.resolve("classes");
		Files.createDirectories(classes);
		List<String> argv = new ArrayList<>(List.of("-proc:none", "-nowarn", "-classpath",
				System.getProperty("java.class.path"), "-d", classes.toString()));
		argv.addAll(sources);
		int rc = ToolProvider.getSystemJavaCompiler().run(null, null, null, argv.toArray(new String[0]));
		if (rc != 0) {
			throw new IllegalStateException("javac of the stub classes failed: " + rc);
		}
		return new URLClassLoader(new URL[] {classes.toUri().toURL()}, parent);
	}

	// split cuts a script into statements at ';' outside '...', "..." and
	// `...`, dropping '--' comments and empty statements.
	static List<String> split(String script) {
		List<String> out = new ArrayList<>();
		StringBuilder cur = new StringBuilder();
		char quote = 0;
		for (int i = 0; i < script.length(); i++) {
			char c = script.charAt(i);
			if (quote != 0) {
				cur.append(c);
				if (c == '\\' && quote != '`' && i + 1 < script.length()) {
					cur.append(script.charAt(++i));
				} else if (c == quote) {
					quote = 0;
				}
				continue;
			}
			if (c == '-' && i + 1 < script.length() && script.charAt(i + 1) == '-') {
				while (i < script.length() && script.charAt(i) != '\n') {
					i++;
				}
				cur.append('\n');
				continue;
			}
			if (c == ';') {
				add(out, cur);
				continue;
			}
			if (c == '\'' || c == '"' || c == '`') {
				quote = c;
			}
			cur.append(c);
		}
		add(out, cur);
		return out;
	}

	static void add(List<String> out, StringBuilder cur) {
		String s = cur.toString().strip();
		if (!s.isEmpty()) {
			out.add(s);
		}
		cur.setLength(0);
	}
}

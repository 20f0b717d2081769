//! What cdc-sync's end-to-end tests share: the three services' databases back-filled from a
//! fresh extract, their documents, the binlog's position and waiting for the checkpoints.
#![allow(dead_code)]

use std::collections::BTreeSet;
use std::time::Duration;

use ficus_cdc_sync::binlog::Position;
use ficus_cdc_sync::pipeline::{self, Options, Targets};
use ficus_eav_extract::SinkSpec;
use ficus_id_map::magento::MagentoDsn;
use ficus_magento_fixture::testing::*;
use ficus_services::catalog::Catalog;
use ficus_services::customer::Customers;
use ficus_services::load::Kind;
use ficus_services::order::Orders;
use mysql_async::prelude::Queryable;

/// The binlog pipeline's options for a test: from `from` (no checkpoint yet), registered as
/// `server_id`, batches of 200 entities or 50 ms, written through two lanes.
pub fn options(magento: &str, from: Position, server_id: u32) -> Options {
    Options {
        source: MagentoDsn::parse(magento).expect("dsn"),
        server_id,
        name: "binlog".into(),
        start: Some(from),
        start_gtid: None,
        namespace: ficus_id_map::DEFAULT_NAMESPACE,
        admin: true,
        batch_entities: 200,
        max_wait: Duration::from_millis(50),
        lanes: 2,
    }
}

/// The three services' databases.
pub struct Services {
    pub dsns: Vec<String>,
    pub targets: Targets,
}

impl Services {
    pub async fn new(name: &str) -> Services {
        let mut dsns = Vec::new();
        for s in ["cat", "cus", "ord"] {
            dsns.push(pg_database(&format!("{name}_{s}")).await);
        }
        Self::on(dsns).await
    }

    /// The three databases on the PostgreSQL server at `server` (`postgres://user@host:port`),
    /// created there.
    pub async fn new_on(server: &str, name: &str) -> Services {
        use sqlx::Connection;
        let mut admin = sqlx::PgConnection::connect(&format!("{server}/postgres"))
            .await
            .expect("connect the server");
        let mut dsns = Vec::new();
        for s in ["cat", "cus", "ord"] {
            let db = format!("{name}_{s}");
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {db}")))
                .execute(&mut admin)
                .await
                .expect("create database");
            dsns.push(format!("{server}/{db}"));
        }
        Self::on(dsns).await
    }

    async fn on(dsns: Vec<String>) -> Services {
        let catalog = Catalog::connect(&dsns[0]).await.expect("catalog");
        catalog.migrate().await.expect("migrate");
        let customers = Customers::connect(&dsns[1]).await.expect("customers");
        customers.migrate().await.expect("migrate");
        let orders = Orders::connect(&dsns[2]).await.expect("orders");
        orders.migrate().await.expect("migrate");
        Services {
            dsns,
            targets: Targets {
                catalog: Some(catalog),
                customers: Some(customers),
                orders: Some(orders),
            },
        }
    }

    /// Back-fills from a fresh extract of `magento`; returns the snapshot position.
    pub async fn backfill(&self, magento: &str, out: &std::path::Path) -> Position {
        let _ = std::fs::remove_file(out);
        for suffix in ["manifest.json", "checkpoint.json"] {
            let _ = std::fs::remove_file(out.with_extension(format!("jsonl.{suffix}")));
        }
        let options = ficus_eav_extract::Options {
            admin: true,
            ..ficus_eav_extract::Options::new(
                MagentoDsn::parse(magento).expect("dsn"),
                SinkSpec::Jsonl(out.to_path_buf()),
            )
        };
        let summary = ficus_eav_extract::extract(&options, |_| {}, std::future::pending())
            .await
            .expect("extract");
        let snap = summary.position.expect("binlog on");
        let at =
            ficus_services::Position::from_binlog(&snap.file, snap.position).expect("position");
        let text = std::fs::read_to_string(out).expect("documents");
        let t = &self.targets;
        for line in text.lines() {
            match Kind::of(line).expect("a document") {
                Kind::Product => {
                    t.catalog
                        .as_ref()
                        .expect("catalog")
                        .upsert_product(line, at)
                        .await
                }
                Kind::Category => {
                    t.catalog
                        .as_ref()
                        .expect("catalog")
                        .upsert_category(line, at)
                        .await
                }
                Kind::Customer => {
                    t.customers
                        .as_ref()
                        .expect("customers")
                        .upsert_customer(line, at)
                        .await
                }
                Kind::Order => {
                    t.orders
                        .as_ref()
                        .expect("orders")
                        .upsert_order(line, at)
                        .await
                }
            }
            .expect("upsert");
        }
        Position {
            file: snap.file,
            pos: snap.position,
        }
    }

    /// Every document the services answer with, by entity and store view.
    pub async fn documents(&self) -> BTreeSet<(String, String, i64, String)> {
        let mut all = BTreeSet::new();
        let queries = [
            (
                &self.dsns[0],
                "SELECT 'product', s.store_code, s.legacy_id, d.document::text FROM catalog.product_store s
                 JOIN catalog.product_document d ON (d.product, d.store_code) = (s.product, s.store_code)",
            ),
            (
                &self.dsns[0],
                "SELECT 'category', store_code, legacy_id, document::text FROM catalog.category_store",
            ),
            (
                &self.dsns[1],
                "SELECT 'customer', '', c.legacy_id, d.document::text FROM customer.profile c
                 JOIN customer.document d ON d.customer = c.customer",
            ),
            (
                &self.dsns[2],
                "SELECT 'order', '', o.legacy_id, d.document::text FROM sales.order_grid o
                 JOIN sales.order_document d ON d.sales_order = o.sales_order",
            ),
        ];
        for (dsn, sql) in queries {
            let pool = sqlx::PgPool::connect(dsn).await.expect("connect");
            let rows: Vec<(String, String, i64, String)> =
                sqlx::query_as(sql).fetch_all(&pool).await.expect(sql);
            pool.close().await;
            all.extend(rows);
        }
        all
    }

    pub async fn drop(self) {
        drop(self.targets);
        for d in &self.dsns {
            drop_pg(d).await;
        }
    }
}

/// A PostgreSQL server of the test's own (initdb in a temporary directory, its own port), so the
/// test can stop and restart a real server without touching the one other tests share.
pub struct PrivatePostgres {
    bin: std::path::PathBuf,
    dir: std::path::PathBuf,
    pub port: u16,
}

impl PrivatePostgres {
    /// Initialises and starts a cluster (superuser `ficus`, trust on loopback). The server runs
    /// as the `postgres` system user, which PostgreSQL requires when the test runs as root.
    pub fn start(name: &str) -> PrivatePostgres {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .expect("PostgreSQL's binaries in /usr/lib/postgresql")
            .filter_map(Result::ok)
            .map(|e| e.path().join("bin"))
            .filter(|b| b.join("pg_ctl").exists())
            .max()
            .expect("pg_ctl");
        let dir = std::env::temp_dir().join(format!("ficus-pg-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("dir");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .expect("bind")
            .local_addr()
            .expect("addr")
            .port();
        let owned = std::process::Command::new("chown")
            .args(["-R", "postgres:postgres"])
            .arg(&dir)
            .status()
            .expect("chown");
        assert!(owned.success(), "chown {}", dir.display());
        let me = PrivatePostgres { bin, dir, port };
        let data = me.data();
        me.run(
            "initdb",
            &["-D", &data, "-U", "ficus", "-A", "trust", "--no-sync"],
        );
        me.ctl("start");
        me
    }

    fn data(&self) -> String {
        self.dir.join("data").display().to_string()
    }

    /// A PostgreSQL binary run as `postgres`.
    fn run(&self, tool: &str, args: &[&str]) {
        let out = std::process::Command::new("runuser")
            .args(["-u", "postgres", "--"])
            .arg(self.bin.join(tool))
            .args(args)
            .output()
            .expect("runuser");
        assert!(
            out.status.success(),
            "{tool} {args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// `pg_ctl start|stop|restart`, waiting until done (stop and restart end connections at once).
    pub fn ctl(&self, action: &str) {
        let data = self.data();
        let log = self.dir.join("server.log").display().to_string();
        let options = format!(
            "-p {} -c listen_addresses=127.0.0.1 -k {} -c fsync=off",
            self.port,
            self.dir.display()
        );
        let mut args = vec![action, "-D", &data, "-w", "-l", &log, "-o", &options];
        if action != "start" {
            args.extend(["-m", "fast"]);
        }
        self.run("pg_ctl", &args);
    }

    /// `postgres://ficus@127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("postgres://ficus@127.0.0.1:{}", self.port)
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        let data = self.data();
        let _ = std::process::Command::new("runuser")
            .args(["-u", "postgres", "--"])
            .arg(self.bin.join("pg_ctl"))
            .args(["stop", "-D", &data, "-m", "immediate", "-w"])
            .output();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The binlog position now.
pub async fn master(conn: &mut mysql_async::Conn) -> (String, u64) {
    let row: mysql_async::Row = conn
        .query_first("SHOW MASTER STATUS")
        .await
        .expect("status")
        .expect("binlog on");
    (row.get(0).expect("file"), row.get(1).expect("pos"))
}

/// Waits until every service's checkpoint has reached `until`; `alive` says why not when the
/// pipeline has stopped.
pub async fn caught_up(
    targets: &Targets,
    until: &(String, u64),
    mut alive: impl AsyncFnMut() -> Result<(), String>,
) {
    let want = ficus_services::Position::from_binlog(&until.0, until.1).expect("position");
    let deadline = std::time::Instant::now() + Duration::from_secs(90);
    loop {
        let at = pipeline::resume_point(targets, "binlog")
            .await
            .expect("checkpoints")
            .and_then(|c| c.position());
        if at.is_some_and(|a| a >= want) {
            return;
        }
        if let Err(why) = alive().await {
            panic!("the pipeline stopped: {why}");
        }
        assert!(
            std::time::Instant::now() < deadline,
            "not caught up: {at:?} < {want:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub async fn attribute(conn: &mut mysql_async::Conn, entity: &str, code: &str) -> u32 {
    conn.exec_first(
        "SELECT a.attribute_id FROM eav_attribute a JOIN eav_entity_type t USING (entity_type_id)
         WHERE t.entity_type_code = ? AND a.attribute_code = ?",
        (entity, code),
    )
    .await
    .expect("attribute")
    .expect("attribute exists")
}

//! `recaudo serve` as a real process on a test's database, outside demo mode, with its
//! clock started at the tests' [`super::now`] so that what it may send does not depend
//! on when the tests run. Killed (SIGKILL) when dropped.

use std::path::PathBuf;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

pub struct Server {
    child: Child,
    pub port: u16,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Server {
    /// Starts a server; `env` adds settings or overrides these.
    pub fn start(url: &str, env: &[(&str, &str)]) -> Server {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("server.log");
        let mut command = Command::new(env!("CARGO_BIN_EXE_recaudo"));
        command
            .arg("serve")
            .env("RECAUDO_DATABASE_URL", url)
            .env("RECAUDO_BIND_ADDRESS", format!("127.0.0.1:{port}"))
            .env("RECAUDO_DEMO", "false")
            .env(
                "RECAUDO_PAYMENT_INSTRUCTIONS",
                "Transferencia a la cuenta 123 del Banco Real.",
            )
            .env("RECAUDO_OUTBOX_LEASE_SECS", "20")
            .env("RECAUDO_CLOCK_START", super::now().to_rfc3339())
            // The key the test's own handle seals with.
            .env(
                "RECAUDO_SECRET_KEY",
                recaudo::server::sealed::Sealer::demo_hex(),
            )
            .env("RUST_LOG", "info,sqlx=warn")
            .env("NO_COLOR", "1");
        for (k, v) in env {
            command.env(k, v);
        }
        // The server logs to standard output.
        let file = std::fs::File::create(&log).unwrap();
        let child = command
            .stdout(file.try_clone().unwrap())
            .stderr(file)
            .spawn()
            .expect("the recaudo binary starts");
        Server {
            child,
            port,
            log,
            _dir: dir,
        }
    }

    pub fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Waits until it takes connections. Its background jobs (dispatcher, scheduler,
    /// mailbox, maintenance) were started before it listens.
    pub async fn ready(&mut self) {
        let started = Instant::now();
        while tokio::net::TcpStream::connect(("127.0.0.1", self.port))
            .await
            .is_err()
        {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("the server ended ({status}):\n{}", self.log());
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "the server never listened:\n{}",
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// What it logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// `kill -9`.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

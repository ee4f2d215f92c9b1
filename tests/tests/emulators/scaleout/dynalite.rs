//! dynalite (npm, `KT_DYNALITE_DIR`) on a free loopback port, killed on drop.

use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::process::{Child, Command};

pub struct Dynalite {
    port: u16,
    child: Child,
}

impl Dynalite {
    pub async fn start() -> Result<Dynalite, String> {
        let dir = std::env::var("KT_DYNALITE_DIR").unwrap_or_else(|_| {
            kinesis_tables_tests::emulator::workspace_root()
                .join(".emulators/npm-dynalite/node_modules/dynalite")
                .to_string_lossy()
                .into_owned()
        });
        let cli = std::path::Path::new(&dir).join("cli.js");
        if !cli.is_file() {
            return Err(format!("dynalite: {} not found (run scripts/install-emulators.sh or set KT_DYNALITE_DIR)", cli.display()));
        }
        let port = std::net::TcpListener::bind(("127.0.0.1", 0)).and_then(|l| l.local_addr()).map_err(|e| e.to_string())?.port();
        let child = Command::new("node")
            .arg(&cli)
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .args(["--createTableMs", "0", "--deleteTableMs", "0", "--updateTableMs", "0"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("dynalite: cannot start node: {e}"))?;
        let t = Instant::now();
        while tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_err() {
            if t.elapsed() > Duration::from_secs(30) {
                return Err(format!("dynalite did not listen on {port} within 30 s"));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Ok(Dynalite { port, child })
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn client(&self) -> aws_sdk_dynamodb::Client {
        super::cluster::dynamodb_client(&self.endpoint())
    }
}

impl Drop for Dynalite {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}

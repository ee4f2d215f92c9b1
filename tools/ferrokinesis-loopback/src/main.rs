//! ferrokinesis on 127.0.0.1 only.
//!
//! `ferrokinesis-loopback serve --port N [--account-id ID] [--region R]
//!  [--create-stream-ms MS] [--delete-stream-ms MS] [--update-stream-ms MS]
//!  [--shard-limit N] [--iterator-ttl-seconds S] [--enforce-limits] [--log-level L]`

use ferrokinesis::store::StoreOptions;

fn main() {
    if let Err(e) = run() {
        eprintln!("ferrokinesis-loopback: {e}");
        std::process::exit(2);
    }
}

fn run() -> Result<(), String> {
    let mut args = std::env::args().skip(1);
    if args.next().as_deref() != Some("serve") {
        return Err("usage: ferrokinesis-loopback serve --port N [options]".into());
    }
    let mut options = StoreOptions::default();
    let mut port: Option<u16> = None;
    let mut level = "info".to_owned();
    while let Some(flag) = args.next() {
        if flag == "--enforce-limits" {
            options.enforce_limits = true;
            continue;
        }
        let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let num = |v: &str| v.parse::<u64>().map_err(|e| format!("{flag} {v}: {e}"));
        match flag.as_str() {
            "--port" => port = Some(value.parse().map_err(|e| format!("--port {value}: {e}"))?),
            "--account-id" => options.aws_account_id = value,
            "--region" => options.aws_region = value,
            "--create-stream-ms" => options.create_stream_ms = num(&value)?,
            "--delete-stream-ms" => options.delete_stream_ms = num(&value)?,
            "--update-stream-ms" => options.update_stream_ms = num(&value)?,
            "--shard-limit" => options.shard_limit = num(&value)? as u32,
            "--iterator-ttl-seconds" => options.iterator_ttl_seconds = num(&value)?,
            "--log-level" => level = value,
            other => return Err(format!("unknown option {other}")),
        }
    }
    let port = port.ok_or("--port is required")?;
    tracing_subscriber::fmt().with_ansi(false).with_env_filter(tracing_subscriber::EnvFilter::new(level)).init();
    let rt = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
    rt.block_on(async move {
        let (app, _store) = ferrokinesis::create_app(options);
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.map_err(|e| format!("bind 127.0.0.1:{port}: {e}"))?;
        eprintln!("Listening at http://127.0.0.1:{port}");
        ferrokinesis::serve_plain_http(listener, app, async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .map_err(|e| e.to_string())
    })
}

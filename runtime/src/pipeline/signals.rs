//! SIGINT and SIGTERM for the length of a run.

/// Resolves once the run was asked to stop.
pub(super) async fn stopped(stop: &mut tokio::sync::watch::Receiver<bool>) {
    // The sender lives as long as the run: an error cannot mean "stop".
    if stop.wait_for(|s| *s).await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// SIGINT and SIGTERM for the length of a run: the first sets `stopped`
/// (the run drains and commits); a second exits the process at once, with
/// 130 (SIGINT) or 143 (SIGTERM), committing nothing more.
pub(super) struct Signals {
    pub(super) stopped: tokio::sync::watch::Receiver<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl Signals {
    pub(super) fn install() -> Signals {
        let (tx, stopped) = tokio::sync::watch::channel(false);
        // Registered now, not when the task first runs, so no signal is missed.
        #[cfg(unix)]
        let streams = {
            use tokio::signal::unix::{SignalKind, signal};
            match (signal(SignalKind::interrupt()), signal(SignalKind::terminate())) {
                (Ok(int), Ok(term)) => Some((int, term)),
                _ => None,
            }
        };
        let task = tokio::spawn(async move {
            #[cfg(unix)]
            let mut streams = streams;
            let mut next = async || -> (&'static str, i32) {
                #[cfg(unix)]
                if let Some((int, term)) = &mut streams {
                    return tokio::select! {
                        _ = int.recv() => ("SIGINT", 130),
                        _ = term.recv() => ("SIGTERM", 143),
                    };
                }
                let _ = tokio::signal::ctrl_c().await;
                ("SIGINT", 130)
            };
            let (first, _) = next().await;
            tracing::info!("{first}: stopping (a second SIGINT or SIGTERM exits at once)");
            tx.send_replace(true);
            let (second, code) = next().await;
            eprintln!("{second} while stopping: exiting at once without committing anything more");
            std::process::exit(code);
        });
        Signals { stopped, task }
    }
}

impl Drop for Signals {
    fn drop(&mut self) {
        self.task.abort();
    }
}

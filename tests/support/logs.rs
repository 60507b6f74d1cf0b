//! A log sink for a test binary, installed once as the global subscriber: everything at info
//! level in one buffer, careerbot's debug lines in another, so tests can assert on what the
//! bot logs (and what it must not).

#![allow(dead_code)]

use std::sync::Arc;

/// The two buffers; see the module docs.
pub struct LogCapture {
    pub info: Arc<std::sync::Mutex<Vec<u8>>>,
    pub debug: Arc<std::sync::Mutex<Vec<u8>>>,
}

#[derive(Clone)]
struct SharedBuf(Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for SharedBuf {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

pub fn capture() -> &'static LogCapture {
    use tracing_subscriber::layer::SubscriberExt as _;
    use tracing_subscriber::Layer as _;
    static CAPTURE: std::sync::OnceLock<LogCapture> = std::sync::OnceLock::new();
    CAPTURE.get_or_init(|| {
        let capture = LogCapture {
            info: Arc::default(),
            debug: Arc::default(),
        };
        let (info, debug) = (
            SharedBuf(capture.info.clone()),
            SharedBuf(capture.debug.clone()),
        );
        let subscriber = tracing_subscriber::registry()
            .with(
                tracing_subscriber::fmt::layer()
                    .with_ansi(false)
                    .with_writer(move || info.clone())
                    .with_filter(tracing_subscriber::filter::LevelFilter::INFO),
            )
            .with(
                tracing_subscriber::fmt::layer()
                    .with_ansi(false)
                    .with_writer(move || debug.clone())
                    .with_filter(tracing_subscriber::EnvFilter::new("careerbot=debug")),
            );
        tracing::subscriber::set_global_default(subscriber).expect("one global subscriber");
        capture
    })
}

impl LogCapture {
    /// Everything logged at info level or above so far, as text.
    pub fn info_text(&self) -> String {
        String::from_utf8_lossy(&self.info.lock().unwrap()).into_owned()
    }

    /// careerbot's lines at debug level or above so far, as text.
    pub fn debug_text(&self) -> String {
        String::from_utf8_lossy(&self.debug.lock().unwrap()).into_owned()
    }
}

//! Delivering notifications: a bounded queue and one worker that POSTs each notification's
//! JSON to its rule's webhook (http or https, through one reqwest client), retrying with
//! doubling back-off until an attempt gets a 2xx answer or the attempts run out.
//!
//! https certificates are verified against the system's roots (rustls-platform-verifier)
//! and, with the rules file's `delivery.ca_file`, its certificates as well; a certificate
//! neither trusts is a failed attempt like any other. The client reads no proxy settings
//! from the environment: a notification goes where its URL says.
//!
//! Ingest never waits for it: the evaluator hands a notification over with `try_send`, and a
//! full queue drops it (counted in `/metrics`; the `alert.triggered` event is in the log
//! regardless). Notifications are delivered one at a time, in the order the alerts fired.
//! With a `secret_file`, each request carries `X-Auditlog-Signature: sha256=<hex>`, the
//! HMAC-SHA256 of the body under the secret (RFC 2104), so a receiver can check it came from
//! this server; the body is the same on every attempt.
//!
//! Delivery is at least once across restarts. [`Progress`] tracks the first alert whose
//! notification may still be owed (every one before it was delivered or given up); it is
//! saved in the alert cursor's `notify_from`. A server that starts resends, before any new
//! notification, the notifications of the `alert.triggered` records from there to the tail
//! ([`Backlog`]), rebuilt from the log: the body is a function of the alert's record alone
//! (`alerts::notification_body`), so the resent one is byte for byte the one sent first,
//! with the same signature and the same `X-Auditlog-Alert`. A notification dropped from a full
//! queue is owed too: progress stops before it, and the next start resends it (and the
//! ones after it that were delivered: receivers deduplicate by the alert's seq).

use super::AlertMetrics;
use super::catch_up::alert_page;
use super::rules::{Delivery, Rules, Webhook};
use auditlog::AuditLog;
use sha2::{Digest, Sha256};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

/// One notification to deliver.
#[derive(Debug)]
pub struct Notification {
    pub webhook: Webhook,
    /// The `alert.triggered` record's seq (also the `X-Auditlog-Alert` header).
    pub alert_seq: u64,
    pub body: Vec<u8>,
}

/// HMAC-SHA256 (RFC 2104) of `message` under `key`.
pub fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    const BLOCK: usize = 64;
    let mut block = [0u8; BLOCK];
    if key.len() > BLOCK {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let pad = |byte: u8| block.map(|b| b ^ byte);
    let inner = Sha256::new()
        .chain_update(pad(0x36))
        .chain_update(message)
        .finalize();
    Sha256::new()
        .chain_update(pad(0x5c))
        .chain_update(inner)
        .finalize()
        .into()
}

use auditlog::merkle::to_hex as hex;

/// How far delivery got: the cursor's `notify_from`.
#[derive(Debug)]
pub struct Progress {
    /// Every alert before it that was queued or resent has been settled (delivered or given
    /// up). Notifications are settled in the order of their alerts' seqs.
    settled: AtomicU64,
    /// The lowest alert whose notification was dropped (full queue) or could not be read
    /// back: owed until a later start resends it (`u64::MAX`: none).
    owed: AtomicU64,
}

impl Progress {
    /// Progress of a run that owes the notifications of the alerts from seq `from` on.
    pub fn new(from: u64) -> Self {
        Progress {
            settled: AtomicU64::new(from),
            owed: AtomicU64::new(u64::MAX),
        }
    }

    /// The first alert whose notification may still be owed.
    pub fn notify_from(&self) -> u64 {
        self.settled
            .load(Ordering::SeqCst)
            .min(self.owed.load(Ordering::SeqCst))
    }

    fn settle(&self, through: u64) {
        self.settled.fetch_max(through, Ordering::SeqCst);
    }

    fn owe(&self, alert_seq: u64) {
        self.owed.fetch_min(alert_seq, Ordering::SeqCst);
    }
}

/// The queue's sending side.
#[derive(Debug, Clone)]
pub struct Queue {
    tx: mpsc::Sender<Notification>,
    metrics: Arc<AlertMetrics>,
    progress: Arc<Progress>,
}

impl Queue {
    /// Queues `n` without waiting; a full queue drops it (and counts it). A dropped
    /// notification stays owed: the next start resends it from the log.
    pub fn offer(&self, n: Notification) {
        let seq = n.alert_seq;
        match self.tx.try_send(n) {
            Ok(()) => {
                self.metrics.webhook_queued.fetch_add(1, Ordering::Relaxed);
            }
            Err(_) => {
                self.progress.owe(seq);
                self.metrics.webhook_dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// How far delivery got.
    pub fn progress(&self) -> &Arc<Progress> {
        &self.progress
    }
}

/// The alerts of earlier runs whose notifications may still be owed: the `alert.triggered`
/// records at seq `from..until` (`until`: the tree's size at the start, so that every one
/// of them was appended before this run fired anything).
#[derive(Debug)]
pub struct Backlog {
    pub log: Arc<AuditLog>,
    pub rules: Rules,
    pub from: u64,
    pub until: u64,
}

/// The client every delivery uses: system roots plus `delivery.ca_pem`, no proxies, no
/// redirects (a 3xx is not a delivery).
pub fn client(delivery: &Delivery) -> Result<reqwest::Client, String> {
    let mut builder = reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .user_agent("auditlog-serve");
    if let Some(pem) = &delivery.ca_pem {
        let certs = reqwest::Certificate::from_pem_bundle(pem)
            .map_err(|e| format!("alert webhooks: delivery.ca_file: {e}"))?;
        builder = builder.tls_certs_merge(certs);
    }
    builder
        .build()
        .map_err(|e| format!("alert webhooks: no HTTP client: {e}"))
}

/// Starts the delivery worker: first the backlog, then what the queue brings. It stops when
/// `stopping` becomes true; the handle ends then, after which [`Progress`] no longer moves.
pub fn start(
    delivery: Delivery,
    client: reqwest::Client,
    metrics: Arc<AlertMetrics>,
    mut stopping: watch::Receiver<bool>,
    backlog: Backlog,
) -> (Queue, JoinHandle<()>) {
    let (tx, mut rx) = mpsc::channel::<Notification>(delivery.queue);
    let progress = Arc::new(Progress::new(backlog.from));
    let queue = Queue {
        tx,
        metrics: metrics.clone(),
        progress: progress.clone(),
    };
    let handle = tokio::spawn(async move {
        tokio::select! {
            () = resend(&delivery, &client, &metrics, &progress, &backlog) => {}
            _ = stopping.wait_for(|s| *s) => return,
        }
        drop(backlog);
        loop {
            let next = tokio::select! {
                n = rx.recv() => n,
                _ = stopping.wait_for(|s| *s) => None,
            };
            let Some(n) = next else { return };
            metrics.webhook_queued.fetch_sub(1, Ordering::Relaxed);
            tokio::select! {
                () = deliver(&delivery, &client, &metrics, &n) => progress.settle(n.alert_seq + 1),
                _ = stopping.wait_for(|s| *s) => return,
            }
        }
    });
    (queue, handle)
}

/// Delivers the backlog's notifications in order, one page of the log at a time, so the
/// memory it takes is bounded however long the receiver was down.
async fn resend(
    delivery: &Delivery,
    client: &reqwest::Client,
    metrics: &AlertMetrics,
    progress: &Progress,
    backlog: &Backlog,
) {
    let mut next = backlog.from;
    while next < backlog.until {
        let (log, until) = (backlog.log.clone(), backlog.until);
        let page = super::read_blocking(move || alert_page(&log, next, until)).await;
        let (records, after) = match page {
            Ok(page) => page,
            Err(e) => {
                progress.owe(next);
                eprintln!(
                    "auditlog serve: the alerts from seq {next} on could not be read to resend their notifications (the next start tries again): {}",
                    e.escape_debug()
                );
                return;
            }
        };
        for record in &records {
            if let Some(n) = super::notification_for(record, &backlog.rules) {
                metrics.webhook_resent.fetch_add(1, Ordering::Relaxed);
                deliver(delivery, client, metrics, &n).await;
            }
            progress.settle(record.seq() + 1);
        }
        progress.settle(after);
        next = after;
    }
}

async fn deliver(
    delivery: &Delivery,
    client: &reqwest::Client,
    metrics: &AlertMetrics,
    n: &Notification,
) {
    let mut backoff = delivery.first_backoff;
    for attempt in 1..=delivery.attempts {
        let outcome = tokio::time::timeout(delivery.timeout, post(client, n, attempt)).await;
        let error = match outcome {
            Ok(Ok(status)) if (200..300).contains(&status) => {
                metrics.webhook_delivered.fetch_add(1, Ordering::Relaxed);
                return;
            }
            Ok(Ok(status)) => format!("answered {status}"),
            Ok(Err(e)) => error_chain(&e),
            Err(_) => format!("no answer within {} ms", delivery.timeout.as_millis()),
        };
        metrics
            .webhook_failed_attempts
            .fetch_add(1, Ordering::Relaxed);
        if attempt == delivery.attempts {
            metrics.webhook_given_up.fetch_add(1, Ordering::Relaxed);
            eprintln!(
                "auditlog serve: alert {} not delivered to {:?} after {attempt} attempt(s): {}",
                n.alert_seq,
                n.webhook.url,
                error.escape_debug()
            );
            return;
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(delivery.max_backoff);
    }
}

/// One attempt: the answer's status code.
async fn post(client: &reqwest::Client, n: &Notification, attempt: u32) -> reqwest::Result<u16> {
    let mut request = client
        .post(n.webhook.target.clone())
        .header("Content-Type", "application/json")
        .header("X-Auditlog-Alert", n.alert_seq)
        .header("X-Auditlog-Delivery-Attempt", attempt)
        .body(n.body.clone());
    if let Some(secret) = &n.webhook.secret {
        request = request.header(
            "X-Auditlog-Signature",
            format!("sha256={}", hex(&hmac_sha256(secret, &n.body))),
        );
    }
    Ok(request.send().await?.status().as_u16())
}

/// An error with its causes ("error sending request: ...: invalid peer certificate: ..."),
/// since reqwest's own message leaves out why a TLS handshake failed.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_sha256_matches_rfc_4231() {
        // RFC 4231, test cases 2 and 6 (a key longer than the block).
        assert_eq!(
            hex(&hmac_sha256(b"Jefe", b"what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        assert_eq!(
            hex(&hmac_sha256(
                &[0xaa; 131],
                b"Test Using Larger Than Block-Size Key - Hash Key First"
            )),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
    }
}

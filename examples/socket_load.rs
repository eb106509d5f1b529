//! Load on `auditlog serve --socket`: CLIENTS connections, each sending one event per frame and
//! waiting for its acknowledgement (durable under the server's durability) before the next, for
//! SECONDS. The Unix-socket row of issue 14 item 10, run by `benches/server_load.sh`; wrk speaks
//! only HTTP. Framing as docs/SERVER.md "The Unix socket" specifies: a 4-byte big-endian length,
//! then that many bytes of JSON; the first frame is `{"token": ...}`.
//!
//! Built the way wrk is (`wrk -t2 -c64` in the HTTP stages): THREADS event loops share the
//! connections, rather than one blocking thread per connection. On a 2-core machine 64 client
//! threads spent about a core on their own context switches, so the figure measured the
//! clients' scheduling more than the server.
//!
//! ```text
//! cargo run --release --example socket_load -- SOCKET TOKEN EVENT_FILE [CLIENTS=64] [SECONDS=10] [THREADS=2]
//! ```
//! Prints events/s, latency percentiles and the count of answers other than 201. Not a test.

use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::UnixStream;

/// One frame in one `write`, as the Python client sends it (`sendall(length + payload)`): two
/// writes would wake the server once for the length and again for the body.
fn frame(body: &[u8]) -> Vec<u8> {
    let len = u32::try_from(body.len()).expect("a frame fits in 4 GiB");
    let mut frame = Vec::with_capacity(4 + body.len());
    frame.extend_from_slice(&len.to_be_bytes());
    frame.extend_from_slice(body);
    frame
}

async fn receive(stream: &mut BufReader<UnixStream>, buf: &mut Vec<u8>) -> std::io::Result<()> {
    let mut len = [0u8; 4];
    stream.read_exact(&mut len).await?;
    buf.resize(u32::from_be_bytes(len) as usize, 0);
    stream.read_exact(buf).await.map(|_| ())
}

/// Whether an answer is a 201. The server's acknowledgement ends with its status; anything
/// else is parsed to be sure.
fn created(answer: &[u8]) -> bool {
    answer.ends_with(b",\"status\":201}")
        || serde_json::from_slice::<serde_json::Value>(answer).is_ok_and(|doc| doc["status"] == 201)
}

/// One client's run: its acknowledgement latencies and how many answers were not a 201.
async fn client(
    socket: String,
    token: String,
    event: Vec<u8>,
    until: Instant,
) -> (Vec<Duration>, u64) {
    let stream = UnixStream::connect(&socket)
        .await
        .expect("connect to the socket");
    let mut stream = BufReader::new(stream);
    let mut buf = Vec::new();
    let hello = frame(format!("{{\"token\": \"{token}\"}}").as_bytes());
    stream.write_all(&hello).await.expect("send token");
    // The token frame is answered too (a refused token ends the connection after its answer).
    receive(&mut stream, &mut buf)
        .await
        .expect("read the token's answer");
    let event = frame(&event);
    let (mut latencies, mut refused) = (Vec::new(), 0);
    while Instant::now() < until {
        let start = Instant::now();
        stream.write_all(&event).await.expect("send event");
        receive(&mut stream, &mut buf)
            .await
            .expect("read acknowledgement");
        latencies.push(start.elapsed());
        if !created(&buf) {
            refused += 1;
        }
    }
    (latencies, refused)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 3 {
        eprintln!(
            "usage: socket_load SOCKET TOKEN EVENT_FILE [CLIENTS=64] [SECONDS=10] [THREADS=2]"
        );
        std::process::exit(2);
    }
    let number = |i: usize, default: u64, name: &str| -> u64 {
        args.get(i).map_or(default, |v| {
            v.parse().unwrap_or_else(|_| panic!("{name} is a number"))
        })
    };
    let event = std::fs::read(&args[2]).expect("read the event file");
    let clients = number(3, 64, "CLIENTS") as usize;
    let seconds = number(4, 10, "SECONDS");
    let threads = number(5, 2, "THREADS") as usize;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .enable_all()
        .build()
        .expect("a runtime");
    let started = Instant::now();
    let until = started + Duration::from_secs(seconds);
    let results: Vec<(Vec<Duration>, u64)> = runtime.block_on(async {
        let tasks: Vec<_> = (0..clients)
            .map(|_| {
                tokio::spawn(client(
                    args[0].clone(),
                    args[1].clone(),
                    event.clone(),
                    until,
                ))
            })
            .collect();
        let mut results = Vec::with_capacity(tasks.len());
        for task in tasks {
            results.push(task.await.expect("client"));
        }
        results
    });
    let elapsed = started.elapsed().as_secs_f64();
    let refused: u64 = results.iter().map(|(_, r)| r).sum();
    let mut all: Vec<Duration> = results.into_iter().flat_map(|(l, _)| l).collect();
    all.sort_unstable();
    let at = |q: f64| all[((all.len() as f64 * q) as usize).min(all.len() - 1)];
    println!(
        "unix socket, {clients} clients on {threads} threads, one event per frame, {seconds}s: {} events, \
         {:.0} events/s, p50 {:?}, p90 {:?}, p99 {:?}, answers other than 201: {refused}",
        all.len(),
        all.len() as f64 / elapsed,
        at(0.50),
        at(0.90),
        at(0.99)
    );
}

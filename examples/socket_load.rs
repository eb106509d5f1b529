//! Load on `auditlog serve --socket`: CLIENTS connections, each sending one event per frame and
//! waiting for its acknowledgement (durable under the server's durability) before the next, for
//! SECONDS. The Unix-socket row of issue 14 item 10, run by `benches/server_load.sh`; wrk speaks
//! only HTTP. Framing as docs/SERVER.md "The Unix socket" specifies: a 4-byte big-endian length,
//! then that many bytes of JSON; the first frame is `{"token": ...}`.
//!
//! ```text
//! cargo run --release --example socket_load -- SOCKET TOKEN EVENT_FILE [CLIENTS=64] [SECONDS=10]
//! ```
//! Prints events/s, latency percentiles and the count of answers other than 201. Not a test.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

fn send(stream: &mut UnixStream, body: &[u8]) -> std::io::Result<()> {
    let len = u32::try_from(body.len()).expect("a frame fits in 4 GiB");
    stream.write_all(&len.to_be_bytes())?;
    stream.write_all(body)
}

fn receive(stream: &mut UnixStream, buf: &mut Vec<u8>) -> std::io::Result<()> {
    let mut len = [0u8; 4];
    stream.read_exact(&mut len)?;
    buf.resize(u32::from_be_bytes(len) as usize, 0);
    stream.read_exact(buf)
}

/// One client's run: its acknowledgement latencies and how many answers were not a 201.
fn client(socket: &str, token: &str, event: &[u8], until: Instant) -> (Vec<Duration>, u64) {
    let mut stream = UnixStream::connect(socket).expect("connect to the socket");
    let mut buf = Vec::new();
    send(
        &mut stream,
        format!("{{\"token\": \"{token}\"}}").as_bytes(),
    )
    .expect("send token");
    // The token frame is answered too (a refused token ends the connection after its answer).
    receive(&mut stream, &mut buf).expect("read the token's answer");
    let (mut latencies, mut refused) = (Vec::new(), 0);
    while Instant::now() < until {
        let start = Instant::now();
        send(&mut stream, event).expect("send event");
        receive(&mut stream, &mut buf).expect("read acknowledgement");
        latencies.push(start.elapsed());
        let answer: serde_json::Value = serde_json::from_slice(&buf).expect("a JSON answer");
        if answer["status"] != 201 {
            refused += 1;
        }
    }
    (latencies, refused)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 3 {
        eprintln!("usage: socket_load SOCKET TOKEN EVENT_FILE [CLIENTS=64] [SECONDS=10]");
        std::process::exit(2);
    }
    let event = std::fs::read(&args[2]).expect("read the event file");
    let clients: usize = args
        .get(3)
        .map_or(64, |c| c.parse().expect("CLIENTS is a number"));
    let seconds: u64 = args
        .get(4)
        .map_or(10, |s| s.parse().expect("SECONDS is a number"));
    let started = Instant::now();
    let until = started + Duration::from_secs(seconds);
    let results: Vec<_> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..clients)
            .map(|_| scope.spawn(|| client(&args[0], &args[1], &event, until)))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("client"))
            .collect()
    });
    let elapsed = started.elapsed().as_secs_f64();
    let refused: u64 = results.iter().map(|(_, r)| r).sum();
    let mut all: Vec<Duration> = results.into_iter().flat_map(|(l, _)| l).collect();
    all.sort_unstable();
    let at = |q: f64| all[((all.len() as f64 * q) as usize).min(all.len() - 1)];
    println!(
        "unix socket, {clients} clients, one event per frame, {seconds}s: {} events, {:.0} events/s, \
         p50 {:?}, p90 {:?}, p99 {:?}, answers other than 201: {refused}",
        all.len(),
        all.len() as f64 / elapsed,
        at(0.50),
        at(0.90),
        at(0.99)
    );
}

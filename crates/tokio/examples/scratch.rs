use std::time::Instant;
use shootout_suite::task::{Crawl, Scatter};
use shootout_suite::{Backend, Cell, Task};
use shootout_tokio::Tokio;

fn main() {
    let server = shootout_loopback::Server::start("127.0.0.1:0".parse().unwrap()).unwrap();
    let tasks = [
        (Task::Scatter(Scatter { conns: 8000, rounds: 3, delay_us: 1000, reply_bytes: 64, timeout_ms: 30000 }), vec!["spawn", "join-all", "current-thread"]),
        (Task::Crawl(Crawl { requests: 2000, concurrency: 64, delay_us: 1000, reply_bytes: 64, rate: 0, timeout_ms: 10000 }), vec!["spawn", "current-thread"]),
        (Task::Crawl(Crawl { requests: 2000, concurrency: 64, delay_us: 1000, reply_bytes: 64, rate: 5000, timeout_ms: 10000 }), vec!["spawn", "current-thread"]),
    ];
    for (task, variants) in tasks {
        let expected = task.expected_checksum();
        for v in variants {
            let cell = Cell { task, variant: v.into(), workers: 2, server: Some(server.addr()) };
            let t = Instant::now();
            let mut run = Tokio.setup(&cell).unwrap();
            let setup = t.elapsed();
            for _ in 0..2 {
                let t = Instant::now();
                let out = run(task.input()).unwrap();
                let mut l = out.latencies_ns.clone(); l.sort();
                assert_eq!(task.checksum(&out.answer), expected);
                println!("{} {v}: setup {setup:?} run {:?} p50 {:?}us max {:?}us", task.id(), t.elapsed(), l[l.len()/2]/1000, l[l.len()-1]/1000);
            }
        }
    }
}

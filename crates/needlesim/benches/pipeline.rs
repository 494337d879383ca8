//! Benchmark: the whole `punctures` pipeline (generate + channels + summary) on the bundled
//! full-face example, with 1 thread and with all threads, median of several runs.
//!
//! Run: `cargo bench -p needlesim --bench pipeline`

use std::time::Instant;

use needlesim::input as scenario;
use needlesim::study::pipeline;
use needlesim::timings::Timings;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/face_pen_0.5mm.toml");
    let s = match scenario::load(&path) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    let area: f64 = s.zones.iter().map(|z| z.zone.shape.area_m2()).sum::<f64>() * 1e4;
    let reps = 7;
    println!(
        "full-face pipeline: {} zones, {:.0} cm², {} passes",
        s.zones.len(),
        area,
        s.technique.passes
    );
    let mut results = Vec::new();
    for threads in [1, rayon::current_num_threads().max(2)] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .expect("thread pool");
        let mut times = Vec::new();
        let mut count = 0;
        let mut stages = Vec::new();
        for _ in 0..reps {
            let t0 = Instant::now();
            let mut t = Timings::default();
            let run = pool
                .install(|| pipeline::punctures(&s, &needlesim::progress::silent, &mut t))
                .expect("pipeline runs");
            times.push(t0.elapsed().as_secs_f64());
            count = run
                .sets
                .iter()
                .map(|(p, ..)| p.punctures.len())
                .sum::<usize>();
            stages = t.stages;
        }
        let t = median(times);
        println!(
            "threads {threads}: {count} punctures in {:.1} ms (median of {reps}), {:.2e} punctures/s",
            t * 1e3,
            count as f64 / t
        );
        for (name, st) in &stages {
            println!("    {name:<20} {:>8.1} ms (last run)", st * 1e3);
        }
        results.push(t);
    }
    println!(
        "speed-up 1 -> {} threads: {:.2}x",
        rayon::current_num_threads().max(2),
        results[0] / results[1]
    );
}

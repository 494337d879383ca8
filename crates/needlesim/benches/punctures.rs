//! Puncture generator benchmark: a full face (300 cm² ellipse) with a 12-needle pen at 100 Hz
//! (3 passes) and with the MF8 roller (15 passes), generated and analysed (areal density on a
//! 1 mm grid), on 1 and 2 rayon threads. Plain `std::time::Instant`, median of several runs.
//!
//! Run: `cargo bench -p needlesim --bench punctures`.

use std::time::{Duration, Instant};

use needlesim::device::{
    CartridgeLayout, Device, Needle, Pen, PunctureSet, Roller, Shape, Technique, Zone, estimate,
    generate,
};
use needlesim::skin::Site;

const REPS: usize = 7;

fn face() -> Zone {
    let w = 0.18;
    Zone {
        name: "full face".into(),
        site: Site::Cheek,
        shape: Shape::Ellipse {
            width_m: w,
            height_m: 0.03 * 4.0 / (std::f64::consts::PI * w),
        },
    }
}

fn pen_12() -> Device {
    Device::Pen(Pen {
        needle_count: 12,
        layout: CartridgeLayout::Round,
        head_diameter_m: 0.007,
        stroke_rate_hz: 100.0,
        min_depth_m: 0.0,
        max_depth_m: 2.5e-3,
        needle: Needle {
            length_m: 1.0e-3,
            diameter_m: 0.25e-3,
            tip_angle_rad: 30f64.to_radians(),
        },
    })
}

/// A simple analysis: punctures per 1 mm² cell over the cells whose centre lies in the zone;
/// returns (mean per cm², coefficient of variation).
fn analyse(set: &PunctureSet, zone: &Zone) -> (f64, f64) {
    let cell = 1e-3;
    let (w, h) = zone.shape.bbox();
    let (nx, ny) = ((w / cell).ceil() as usize, (h / cell).ceil() as usize);
    let mut counts = vec![0u32; nx * ny];
    for p in &set.punctures {
        let i = ((p.x_m / cell) as usize).min(nx - 1);
        let j = ((p.y_m / cell) as usize).min(ny - 1);
        counts[j * nx + i] += 1;
    }
    let (mut n, mut sum, mut sum2) = (0.0, 0.0, 0.0);
    for j in 0..ny {
        for i in 0..nx {
            let (x, y) = ((i as f64 + 0.5) * cell, (j as f64 + 0.5) * cell);
            if zone.shape.contains(x, y) {
                let c = f64::from(counts[j * nx + i]);
                n += 1.0;
                sum += c;
                sum2 += c * c;
            }
        }
    }
    let mean = sum / n;
    let var = (sum2 / n - mean * mean).max(0.0);
    (mean / (cell * cell) * 1e-4, var.sqrt() / mean)
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn run(label: &str, device: &Device, tech: &Technique) {
    let zone = face();
    let mut per_threads = Vec::new();
    for threads in [1, 2] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        let (mut gen_t, mut all_t) = (Vec::new(), Vec::new());
        let mut last = None;
        for _ in 0..REPS {
            let t0 = Instant::now();
            let set = pool
                .install(|| generate(device, &zone, tech, 2024))
                .unwrap();
            let t1 = Instant::now();
            let stats = analyse(&set, &zone);
            let t2 = Instant::now();
            gen_t.push(t1 - t0);
            all_t.push(t2 - t0);
            last = Some((set, stats));
        }
        let (set, (mean, cv)) = last.unwrap();
        let (g, a) = (median(gen_t), median(all_t));
        println!(
            "{label:<34} threads {threads}: {:>8} punctures, generate {:>8.2} ms ({:>6.1} M/s), \
             generate+analyse {:>8.2} ms; {:.0}/cm², CV per mm² {:.2}, needling {:.1} min",
            set.punctures.len(),
            g.as_secs_f64() * 1e3,
            set.punctures.len() as f64 / g.as_secs_f64() / 1e6,
            a.as_secs_f64() * 1e3,
            mean,
            cv,
            set.needling_time_s / 60.0
        );
        per_threads.push(g);
    }
    let est: Vec<Duration> = (0..REPS)
        .map(|_| {
            let t0 = Instant::now();
            let e = estimate(device, &zone, tech, 2024).unwrap();
            std::hint::black_box(e);
            t0.elapsed()
        })
        .collect();
    println!(
        "{label:<34} plan-only estimate: {:.1} µs",
        median(est).as_secs_f64() * 1e6
    );
    println!(
        "{label:<34} speed-up 2 threads vs 1: {:.2}x",
        per_threads[0].as_secs_f64() / per_threads[1].as_secs_f64()
    );
}

fn main() {
    println!("puncture generator, full face (300 cm² ellipse), median of {REPS} runs");
    run(
        "pen 12 needles 100 Hz, 3 passes",
        &pen_12(),
        &Technique::pen_typical(),
    );
    run(
        "MF8 roller, 15 passes",
        &Device::Roller(Roller::dermaroller_mf8()),
        &Technique::roller_standard(),
    );
}

//! The phases of a run, in order: for each load shape every subject in turn,
//! each on a fresh topic and (for gateways) a fresh process.

use std::path::Path;

use matyan_actors::kafka_producer::Compression;

use crate::result::{Idle, Phase, Subject};
use crate::servers::{new_topic, Server};
use crate::{ceiling, load, Cli, LoadShape};

const PORT: u16 = 15501;

/// What a run measured, in the order it ran.
#[derive(Default)]
pub struct Results {
    pub phases: Vec<Phase>,
    pub idle: Vec<Idle>,
}

/// Seconds of two small loads against the gateways: the correctness check CI runs.
pub fn smoke(cli: &Cli) -> Results {
    let mut results = Results::default();
    for batch in [100, 1] {
        let shape = LoadShape { connections: 4, batch, seconds: cli.seconds.min(3.0), pause_ms: 0.0 };
        for (subject, binary) in gateways(cli) {
            results.phases.push(gateway_phase(cli, subject, binary, &shape, Compression::None));
        }
    }
    results
}

/// Every shape against every subject, the opt-in lz4 codec, half load and idle connections.
pub fn full(cli: &Cli) -> Results {
    let mut results = Results::default();
    let shape = |connections, batch| LoadShape { connections, batch, seconds: cli.seconds, pause_ms: 0.0 };
    for (connections, batch) in [(1, 100), (16, 100), (64, 100), (64, 1)] {
        let shape = shape(connections, batch);
        for (subject, binary) in gateways(cli) {
            results.phases.push(gateway_phase(cli, subject, binary, &shape, Compression::None));
        }
        if cli.reference {
            results.phases.push(reference_phase(cli, &shape));
        }
        results.phases.push(ceiling_phase(cli, &shape, Compression::None));
    }

    // The trade-off of the opt-in codec (the 0.3.0 workers cannot read lz4 batches;
    // the reference never compresses).
    let busiest = shape(64, 100);
    for (subject, binary) in gateways(cli) {
        results.phases.push(gateway_phase(cli, subject, binary, &busiest, Compression::Lz4));
    }
    results.phases.push(ceiling_phase(cli, &busiest, Compression::Lz4));

    // Latency at half of our measured maximum: at the maximum a frame takes about
    // connections × batch / rate seconds, and pausing that long halves the offered load.
    let ours_max = results
        .phases
        .iter()
        .find(|p| p.subject == Subject::Ours && p.shape.connections == 64 && p.shape.batch == 100 && p.codec == Compression::None.as_str())
        .map(Phase::messages_per_second)
        .filter(|rate| *rate > 0.0);
    if let Some(ours_max) = ours_max {
        let half_load = LoadShape { pause_ms: 1000.0 * 64.0 * 100.0 / ours_max, ..busiest };
        for (subject, binary) in gateways(cli) {
            results.phases.push(gateway_phase(cli, subject, binary, &half_load, Compression::None));
        }
    }

    for (subject, binary) in gateways(cli) {
        let server = Server::gateway(binary, PORT, &new_topic(&cli.stack_bin, &cli.bootstrap, "idle"), Compression::None);
        results.idle.push(load::run_idle(&url(), cli.idle_connections, subject, server.pid()));
    }
    results
}

/// Ours, then the baseline when given.
fn gateways(cli: &Cli) -> Vec<(Subject, &Path)> {
    let mut gateways = vec![(Subject::Ours, cli.gateway.as_path())];
    gateways.extend(cli.baseline.as_deref().map(|binary| (Subject::Before, binary)));
    gateways
}

fn gateway_phase(cli: &Cli, subject: Subject, binary: &Path, shape: &LoadShape, compression: Compression) -> Phase {
    let topic = new_topic(&cli.stack_bin, &cli.bootstrap, &phase_name(subject, shape));
    let server = Server::gateway(binary, PORT, &topic, compression);
    load::run_ws(&url(), shape, subject, server.pid(), &cli.bootstrap, &topic, compression.as_str())
}

fn reference_phase(cli: &Cli, shape: &LoadShape) -> Phase {
    let topic = new_topic(&cli.stack_bin, &cli.bootstrap, &phase_name(Subject::Reference, shape));
    let server = Server::reference(PORT, &topic);
    load::run_ws(&url(), shape, Subject::Reference, server.pid(), &cli.bootstrap, &topic, Compression::None.as_str())
}

fn ceiling_phase(cli: &Cli, shape: &LoadShape, compression: Compression) -> Phase {
    let topic = new_topic(&cli.stack_bin, &cli.bootstrap, &phase_name(Subject::RawProducer, shape));
    ceiling::run(&cli.bootstrap, &topic, shape, compression)
}

fn phase_name(subject: Subject, shape: &LoadShape) -> String {
    format!("{}-{}x{}", subject.slug(), shape.connections, shape.batch)
}

fn url() -> String {
    format!("ws://127.0.0.1:{PORT}")
}

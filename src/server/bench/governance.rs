//! `recaudo bench governance`: what the contact policies cost. First the preflight every
//! sender asks, on a Colombian debtor with 1,000 contacts in the last week (the worst
//! history the policy reads), then the composer's check around it ("Enviar" waits for
//! it), and the policy's judgement alone on that history; then the daily scheduler pass
//! of `bench flows` with the policies, against the same pass with them turned off on a
//! copy of the database taken right after seeding.

use std::time::Instant;

use chrono::Duration;

use super::{flows, print_single, sample, seed_clients, BenchArgs, Figure, Scratch};
use crate::domain::client::PartyRole;
use crate::domain::compose::ReplyTarget;
use crate::domain::governance::{preflight as judge_only, Attempt, PastContact};
use crate::domain::message::{Channel, Origin};
use crate::on_db;
use crate::server::automation::scheduler;
use crate::server::config::{Config, Sending};
use crate::server::conversations::compose;
use crate::server::db::Db;
use crate::server::messages::preflight::{self, Policies, Target};
use crate::server::messages::{self, NewMessage, PartyRef, Route};

fn text<E: std::fmt::Display>(e: E) -> String {
    e.to_string()
}

/// The past contacts the preflight figure's debtor holds.
const PAST_CONTACTS: i64 = 1_000;

pub async fn measure(
    db: &Db,
    scratch: &Scratch,
    args: &BenchArgs,
    config: &Config,
) -> Result<(), String> {
    let engine = db.engine();
    db.migrate().await.map_err(text)?;
    seed_clients(db, args.clients, config.clock()).await?;
    flows::setup(db).await?;
    db.refresh_statistics().await.map_err(text)?;
    // The baseline's database: a copy taken before anything below writes, so that
    // neither pass sees what the other wrote and both start from the same rows.
    let started = Instant::now();
    let (bare, bare_scratch) = scratch.copy_of(db).await?;
    println!(
        "copied the seeded database for the baseline in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let clock = config.clock();
    let sending = Sending {
        demo: true,
        ..config.sending()
    };
    let baseline = async {
        bare.refresh_statistics().await.map_err(text)?;
        let started = Instant::now();
        let report = scheduler::run_once_ungoverned(&bare, &sending, clock)
            .await
            .map_err(text)?;
        Ok::<_, String>((started.elapsed().as_secs_f64(), report))
    }
    .await;
    bare_scratch.remove(bare).await;
    let (without, bare_report) = baseline?;
    let admin = super::demo_viewer(db, "admin@demo.recaudo").await?;

    let (client_id, address, time_zone): (i64, String, String) = on_db!(db, p => sqlx::query_as(
        "SELECT c.id, cp.value, c.time_zone FROM clients c JOIN contact_points cp ON cp.client_id = c.id
         WHERE c.country = 'CO' AND cp.kind = 'phone' ORDER BY c.id LIMIT 1")
        .fetch_one(p).await)
    .map_err(text)?;
    let tab = PartyRef::new(client_id, PartyRole::Client, 1);
    let mut tx = db.begin().await.map_err(text)?;
    let channels = [
        Channel::Sms,
        Channel::WhatsApp,
        Channel::Email,
        Channel::Call,
    ];
    for i in 0..PAST_CONTACTS {
        let at = clock.now - Duration::minutes(10 * (i + 1));
        let channel = channels[i as usize % channels.len()];
        let m = NewMessage::outbound(tab, channel, &address, "Recordatorio", Origin::Manual, at);
        messages::send(&mut tx, &m, &[], Route::Direct, at)
            .await
            .map_err(text)?;
    }
    tx.commit().await.map_err(text)?;
    db.refresh_statistics().await.map_err(text)?;

    let target = ReplyTarget {
        client_id,
        party_role: PartyRole::Client,
        party_ordinal: 1,
        channel: Channel::Sms,
    };
    // The preflight as every sender asks it: the policies in force (kept between
    // checks), the debtor's contacts, whether the debtor wrote, and the judgement.
    let check = Target {
        tab,
        country: "CO",
        time_zone: &time_zone,
        channel: Channel::Sms,
        address: &address,
        text: "Hola",
    };
    let opt_outs = preflight::opt_outs(db, std::slice::from_ref(&address))
        .await
        .map_err(text)?;
    let (p50, p95) = sample(args.iterations, |_| {
        let (check, opt_outs) = (&check, &opt_outs);
        async move {
            preflight::check(db, clock.tz, check, opt_outs, clock.now)
                .await
                .map(|_| ())
                .map_err(text)
        }
    })
    .await?;
    let mut figures = vec![Figure {
        name: "governance_preflight".into(),
        p50_ms: p50,
        p95_ms: p95,
    }];
    // What "Enviar" waits for: the same preflight behind the composer's server
    // function, which first reads the client, its channels and its opt-outs.
    let (p50, p95) = sample(args.iterations, |_| {
        let admin = admin.clone();
        let sending = sending.clone();
        async move {
            compose::contact_check(db, &admin, target, "Hola", &sending, clock)
                .await
                .map(|_| ())
                .map_err(text)
        }
    })
    .await?;
    figures.push(Figure {
        name: "governance_composer_check".into(),
        p50_ms: p50,
        p95_ms: p95,
    });
    let policies = Policies::current(db, clock.tz).await.map_err(text)?;
    let policy = policies.policy("CO");
    let history: Vec<PastContact> = (0..PAST_CONTACTS)
        .map(|i| PastContact {
            at: clock.local(clock.now - Duration::minutes(10 * (i + 1))),
            channel: channels[i as usize % channels.len()],
        })
        .collect();
    let attempt = Attempt {
        at: clock.local(clock.now),
        channel: Channel::Sms,
        reply: false,
    };
    let (p50, p95) = sample(args.iterations, |_| {
        let d = judge_only(&policy, policies.holidays("CO"), &history, &attempt);
        std::hint::black_box(d);
        async { Ok(()) }
    })
    .await?;
    figures.push(Figure {
        name: "governance_judge".into(),
        p50_ms: p50,
        p95_ms: p95,
    });
    super::print_figures(engine, &format!("{PAST_CONTACTS} past contacts"), &figures);

    let started = Instant::now();
    let report = scheduler::run_once(db, &sending, clock)
        .await
        .map_err(text)?;
    let with = started.elapsed().as_secs_f64();
    let held: (i64,) = on_db!(db, p => sqlx::query_as(
        "SELECT COUNT(*) FROM contact_decisions WHERE verdict <> 'allow' AND job <> ''")
        .fetch_one(p).await)
    .map_err(text)?;
    let engine = engine.as_str();
    println!();
    println!(
        "daily scheduler pass over {} clients ({engine})",
        args.clients
    );
    println!(
        "  without policies: {without:.2} s  {}",
        bare_report.describe()
    );
    println!("  with policies:    {with:.2} s  {}", report.describe());
    println!("  held by a policy: {}", held.0);
    println!("  ratio: {:.2}× (target ≤ 1.20×)", with / without);
    println!();
    print_single("governance_pass_ungoverned", engine, without);
    print_single("governance_pass", engine, with);
    Ok(())
}

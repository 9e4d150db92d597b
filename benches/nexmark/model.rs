//! The Nexmark event rows as `ivm` rows, and the events of a run generated into memory.
//!
//! The `nexmark` crate's `Person`, `Auction` and `Bid` are neither `Ord` nor `Hash` nor
//! serde-serializable without a feature, so each is copied field for field into a row type
//! that is. Every field is kept, including the `extra` padding: state and memory figures are
//! for the standard record sizes.

use serde::{Deserialize, Serialize};

/// A person (a seller or bidder).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Person {
    pub id: u64,
    pub name: String,
    pub email_address: String,
    pub credit_card: String,
    pub city: String,
    pub state: String,
    pub date_time: u64,
    pub extra: String,
}

/// An auction.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Auction {
    pub id: u64,
    pub item_name: String,
    pub description: String,
    pub initial_bid: u64,
    pub reserve: u64,
    pub date_time: u64,
    pub expires: u64,
    pub seller: u64,
    pub category: u64,
    pub extra: String,
}

/// A bid on an auction.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Bid {
    pub auction: u64,
    pub bidder: u64,
    pub price: u64,
    pub channel: String,
    pub url: String,
    pub date_time: u64,
    pub extra: String,
}

/// One event of the stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    Person(Person),
    Auction(Auction),
    Bid(Bid),
}

impl From<nexmark::event::Event> for Event {
    fn from(event: nexmark::event::Event) -> Self {
        use nexmark::event::Event as E;
        match event {
            E::Person(p) => Event::Person(Person {
                id: p.id as u64,
                name: p.name,
                email_address: p.email_address,
                credit_card: p.credit_card,
                city: p.city,
                state: p.state,
                date_time: p.date_time,
                extra: p.extra,
            }),
            E::Auction(a) => Event::Auction(Auction {
                id: a.id as u64,
                item_name: a.item_name,
                description: a.description,
                initial_bid: a.initial_bid as u64,
                reserve: a.reserve as u64,
                date_time: a.date_time,
                expires: a.expires,
                seller: a.seller as u64,
                category: a.category as u64,
                extra: a.extra,
            }),
            E::Bid(b) => Event::Bid(Bid {
                auction: b.auction as u64,
                bidder: b.bidder as u64,
                price: b.price as u64,
                channel: b.channel,
                url: b.url,
                date_time: b.date_time,
                extra: b.extra,
            }),
        }
    }
}

/// The `date_time` of the first event, ms since the Unix epoch (2023-11-14T22:13:20Z).
pub const BASE_TIME: u64 = 1_700_000_000_000;

/// `count` events of the standard generator (persons, auctions and bids 1 : 3 : 46), starting at
/// event number `first`.
///
/// `NexmarkConfig::default()` is the standard configuration; the generator's own `Default`
/// yields only persons, so it is never used. Its `base_time` (the first event's `date_time`)
/// defaults to the wall clock, so it is fixed at [`BASE_TIME`]: every process then generates
/// the same events.
///
/// The generator is otherwise a pure function of the event number, so `first` is the run's
/// seed: runs with the same `first` see the same events.
///
/// Blocks of events are generated on one thread per core and appended in order, so generating
/// 10M events takes seconds, not tens of seconds, and needs little memory beyond the result.
pub fn generate(count: usize, first: u64) -> Vec<Event> {
    let config = nexmark::config::NexmarkConfig { base_time: BASE_TIME, ..Default::default() };
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let blocks = count.div_ceil(GENERATED_BLOCK);
    let mut events = Vec::with_capacity(count);
    std::thread::scope(|scope| {
        let receivers: Vec<_> = (0..threads)
            .map(|thread| {
                let (sender, receiver) = std::sync::mpsc::sync_channel::<Vec<Event>>(2);
                let config = config.clone();
                scope.spawn(move || {
                    for block in (thread..blocks).step_by(threads) {
                        let start = block * GENERATED_BLOCK;
                        let len = GENERATED_BLOCK.min(count - start);
                        let generator = nexmark::EventGenerator::new(config.clone());
                        let block = generator.with_offset(first + start as u64).take(len).map(Event::from);
                        if sender.send(block.collect()).is_err() {
                            return;
                        }
                    }
                });
                receiver
            })
            .collect();
        for block in 0..blocks {
            events.extend(receivers[block % threads].recv().expect("each generator thread sends its blocks"));
        }
    });
    events
}

/// Events generated at once by one thread.
const GENERATED_BLOCK: usize = 16_384;

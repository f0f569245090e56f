//! Every provider's callback parser takes any body and answers a callback or an error,
//! never a panic; what Recaudo's own shape (the relay's and the sandbox's) reads, it
//! writes back identically.
#![no_main]

use libfuzzer_sys::fuzz_target;
use recaudo::domain::message::Channel;
use recaudo::server::channels::webhooks::Callback;
use recaudo::server::channels::{twilio, whatsapp};

fuzz_target!(|data: &[u8]| {
    for channel in [Channel::WhatsApp, Channel::WhatsAppBusiness] {
        let _ = whatsapp::callback(data, channel);
    }
    let _ = twilio::callback(&twilio::fields(data));
    if let Ok(callback) = serde_json::from_slice::<Callback>(data) {
        let written = serde_json::to_vec(&callback).unwrap();
        let again: Callback = serde_json::from_slice(&written).expect("our own shape reads back");
        assert_eq!(serde_json::to_vec(&again).unwrap(), written);
    }
});

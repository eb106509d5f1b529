//! Signed checkpoints: the format (C2SP tlog-checkpoint in a signed note) is
//! `auditlog_format::checkpoint`; signing an open log's checkpoints, never two that disagree,
//! is the engine's ([`CheckpointSigner`]).

pub use auditlog_format::checkpoint::*;

pub(crate) mod sign;

pub use sign::CheckpointSigner;

//! `mapvault export`.

//! The local files: what `-o` names, our side files and the lock
//! ([`fs`]), and the checkpoint format with its load and store on top
//! ([`checkpoint`]).

pub mod checkpoint;
pub mod fs;

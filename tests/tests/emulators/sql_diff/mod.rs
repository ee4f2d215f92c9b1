//! SQL transforms at run time: a record whose expression fails stops the
//! pipeline or is skipped and counted (`fallible`), in process over
//! `datagen` → `blackhole`.

mod fallible;

mod interop;
mod roundtrip;
mod sink;
mod source;

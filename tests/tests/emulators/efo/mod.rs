mod faults;
mod lifecycle;
mod roundtrip;

mod emulators;
mod faultproxy;

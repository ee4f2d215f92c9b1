mod avro;
mod datagen;
mod process;

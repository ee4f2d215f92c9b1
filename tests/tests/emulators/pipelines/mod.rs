mod datagen;
mod process;

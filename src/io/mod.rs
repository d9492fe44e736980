//! Input and output that is not about tensors: downloads (weights, the ISIC archives),
//! checkpoints (safetensors and PyTorch pickles) and atomic file writes. Exercise code
//! never uses it (the source policy refuses `se05::io`).
pub mod checkpoint;
pub mod download;
pub mod fsutil;
pub mod isic_fetch;
pub mod manifest;
pub mod source_tree;

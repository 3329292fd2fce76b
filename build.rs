//! Compiles `proto/` with a vendored `protoc`, so a fresh machine needs no
//! system protobuf compiler. The file descriptor set is kept for gRPC server
//! reflection.
fn main() -> Result<(), Box<dyn std::error::Error>> {
    let protoc = protoc_bin_vendored::protoc_bin_path()?;
    std::env::set_var("PROTOC", protoc);
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR")?);
    tonic_prost_build::configure()
        .file_descriptor_set_path(out.join("raftcdc_descriptor.bin"))
        .compile_protos(
            &["proto/raftcdc/v1/control.proto", "proto/raftcdc/v1/raft.proto"],
            &["proto"],
        )?;
    println!("cargo:rerun-if-changed=proto");
    Ok(())
}

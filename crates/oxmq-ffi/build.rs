//! The shared library carries libzmq's soname, so programs linked against it (or against
//! libzmq itself) load it as `libzmq.so.5`. `cfg(oxmq_asm)`: the target has stable `asm!`
//! (src/msg.rs's `settle` needs it).

fn main() {
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libzmq.so.5");
    }
    println!("cargo:rustc-check-cfg=cfg(oxmq_asm)");
    let arch = std::env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
    let asm = ["x86", "x86_64", "arm", "aarch64", "riscv32", "riscv64", "loongarch64", "s390x"];
    if asm.contains(&arch.as_str()) {
        println!("cargo:rustc-cfg=oxmq_asm");
    }
    println!("cargo:rerun-if-changed=build.rs");
}

// Built only into the sanitizer tree (CMKFS_SANITIZE=ON): the ASan runtime
// defaults of every executable in it. ASAN_OPTIONS still overrides them.
//
// intercept_tls_get_addr=0: GCC 12's libasan (Debian 12) guesses the extent of
// a dynamic TLS block from glibc < 2.25's layout: a block that starts 16 bytes
// into a page is taken to carry a {size, start} header just before it. Since
// glibc 2.25 (Debian 12 has 2.36) the block is a plain malloc chunk, and those
// 16 bytes are ASan's own chunk header. The azure-keyvault plugin pulls in
// GnuTLS (libcurl -> librtmp), whose per-thread RNG state is such a 16-byte
// block; in the one process in 128 whose heap puts it at page offset 16, the
// leak check at exit scans a bogus range and LeakSanitizer's tracer dies
// ("Tracer caught signal 11", google/sanitizers#1322). Which process that is
// depends on everything allocated before the plugin loads (paths, config
// files, environment), so one machine fails every run and another never.
// Off, the runtime records no dynamic TLS ranges, which loses nothing here:
// on glibc >= 2.25 every correctly sized range it could record is empty, and
// the blocks are still heap chunks that leak checking follows as usual.
// Leak detection itself stays on (detect_leaks is untouched).

extern "C" __attribute__((visibility("default"), used, no_sanitize_address)) const char *
__asan_default_options() {  // NOLINT(bugprone-reserved-identifier): the runtime looks it up by name
    return "intercept_tls_get_addr=0";
}

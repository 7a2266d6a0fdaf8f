/* A stand-in for Windows' bcryptprimitives.dll, for running mapvault under wine only
 * (scripts/windows-test.sh): Rust's std takes its random bytes from ProcessPrng there (Windows
 * 10 and later), which Debian bookworm's wine 8.0 does not have. This one asks
 * RtlGenRandom (advapi32's SystemFunction036), which wine does have. Never shipped. */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len) {
    while (len > 0) {
        ULONG n = len > 0x10000000 ? 0x10000000 : (ULONG)len;
        if (!SystemFunction036(data, n)) return FALSE;
        data += n;
        len -= n;
    }
    return TRUE;
}

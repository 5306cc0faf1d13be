/*
 * TEST-ONLY stand-in for Windows' bcryptprimitives.dll, for running irsnap.exe under wine 8.
 *
 * Rust >= 1.78 gets its random bytes (HashMap seeds) from ProcessPrng in bcryptprimitives.dll,
 * which Windows 10+ always has and Debian's wine 8 lacks, so every Rust exe fails to start
 * there. This DLL exports ProcessPrng and fills the buffer from RtlGenRandom
 * (advapi32!SystemFunction036), a real CSPRNG that wine implements.
 *
 * It is built and copied into a throw-away WINEPREFIX by scripts/wine-smoke.sh. It is never
 * shipped, never linked into irsnap, and never copied onto a real Windows host (which has the
 * real DLL).
 */
#include <windows.h>

/* advapi32 exports RtlGenRandom under this name; the SDK only declares it via a macro. */
BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

/* Same contract as the real one: always returns TRUE; on a failure it cannot report, it
 * does not return garbage silently either, so abort loudly instead. */
BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T length)
{
    while (length > 0) {
        ULONG chunk = length > 0x40000000 ? 0x40000000 : (ULONG)length;
        if (!SystemFunction036(data, chunk)) {
            RaiseException(0xE0000001, EXCEPTION_NONCONTINUABLE, 0, NULL);
        }
        data += chunk;
        length -= chunk;
    }
    return TRUE;
}

BOOL WINAPI DllMain(HINSTANCE instance, DWORD reason, LPVOID reserved)
{
    (void)instance;
    (void)reason;
    (void)reserved;
    return TRUE;
}

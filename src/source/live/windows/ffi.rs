//! The Win32 calls the live Windows source needs that neither std nor sysinfo offers: token
//! elevation and user, SID → account name, a process's raw command line, a few registry
//! values, the time zone and the domain. The only file in irsnap with Windows `unsafe`; each
//! call is wrapped into a safe function that owns and frees what the call allocates.
#![allow(unsafe_code)]

use std::ptr::{null, null_mut};
use windows_sys::Wdk::System::Threading::{
    NtQueryInformationProcess, ProcessCommandLineInformation,
};
use windows_sys::Win32::Foundation::{
    CloseHandle, ERROR_INSUFFICIENT_BUFFER, ERROR_MORE_DATA, ERROR_SUCCESS, GetLastError, HANDLE,
    LocalFree, STATUS_BUFFER_OVERFLOW, STATUS_BUFFER_TOO_SMALL, STATUS_INFO_LENGTH_MISMATCH,
    UNICODE_STRING,
};
use windows_sys::Win32::NetworkManagement::NetManagement::{
    NetApiBufferFree, NetGetJoinInformation, NetSetupDomainName,
};
use windows_sys::Win32::Security::Authorization::{ConvertSidToStringSidW, ConvertStringSidToSidW};
use windows_sys::Win32::Security::{
    GetTokenInformation, LookupAccountSidW, PSID, SID_NAME_USE, TOKEN_ELEVATION, TOKEN_QUERY,
    TOKEN_USER, TokenElevation, TokenUser,
};
use windows_sys::Win32::System::Registry::{
    HKEY, HKEY_LOCAL_MACHINE, KEY_READ, RRF_RT_REG_DWORD, RRF_RT_REG_SZ, RegCloseKey,
    RegEnumKeyExW, RegGetValueW, RegOpenKeyExW,
};
use windows_sys::Win32::System::SystemInformation::{ComputerNameDnsDomain, GetComputerNameExW};
use windows_sys::Win32::System::Threading::{
    GetCurrentProcess, OpenProcess, OpenProcessToken, PROCESS_QUERY_LIMITED_INFORMATION,
};
use windows_sys::Win32::System::Time::{
    DYNAMIC_TIME_ZONE_INFORMATION, GetDynamicTimeZoneInformation, TIME_ZONE_ID_INVALID,
};

/// Longest command line Windows allows is 32,767 UTF-16 units; with the UNICODE_STRING
/// header this is the most NtQueryInformationProcess can ever ask for.
const MAX_COMMAND_LINE_BYTES: usize = 65_536 + 64;

fn wide(s: &str) -> Vec<u16> {
    s.encode_utf16().chain(std::iter::once(0)).collect()
}

fn from_wide(buf: &[u16]) -> String {
    let end = buf.iter().position(|&c| c == 0).unwrap_or(buf.len());
    String::from_utf16_lossy(&buf[..end])
}

/// Reads a NUL-terminated UTF-16 string that Windows allocated.
///
/// # Safety
/// `p` must be null or point to a NUL-terminated UTF-16 string.
unsafe fn from_wide_ptr(p: *const u16) -> Option<String> {
    if p.is_null() {
        return None;
    }
    let mut len = 0usize;
    // SAFETY: the caller guarantees a terminating NUL, so every read up to it is in bounds.
    while unsafe { *p.add(len) } != 0 {
        len += 1;
    }
    // SAFETY: `len` units were just read from `p`.
    Some(String::from_utf16_lossy(unsafe {
        std::slice::from_raw_parts(p, len)
    }))
}

/// A kernel handle closed on drop.
struct Handle(HANDLE);

impl Drop for Handle {
    fn drop(&mut self) {
        // SAFETY: the handle came from a successful Open* call and is closed exactly once.
        unsafe { CloseHandle(self.0) };
    }
}

/// Memory Windows allocated with LocalAlloc for us, freed on drop.
struct LocalBox(*mut core::ffi::c_void);

impl Drop for LocalBox {
    fn drop(&mut self) {
        if !self.0.is_null() {
            // SAFETY: the pointer was returned by an API documented to need LocalFree.
            unsafe { LocalFree(self.0) };
        }
    }
}

fn current_token() -> Option<Handle> {
    let mut token: HANDLE = null_mut();
    // SAFETY: GetCurrentProcess returns a pseudo-handle that needs no closing; `token` is a
    // valid out-pointer.
    let ok = unsafe { OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &mut token) };
    (ok != 0 && !token.is_null()).then_some(Handle(token))
}

/// TokenElevation of our own token: true when UAC gave us the full administrator token.
pub fn token_elevated() -> Option<bool> {
    let token = current_token()?;
    let mut elevation = TOKEN_ELEVATION::default();
    let mut returned = 0u32;
    // SAFETY: the token was opened with TOKEN_QUERY; the buffer is a TOKEN_ELEVATION and its
    // exact size is passed.
    let ok = unsafe {
        GetTokenInformation(
            token.0,
            TokenElevation,
            (&raw mut elevation).cast(),
            size_of::<TOKEN_ELEVATION>() as u32,
            &mut returned,
        )
    };
    (ok != 0).then_some(elevation.TokenIsElevated != 0)
}

/// The SID (`S-1-5-21-...`) of the account our token runs as.
pub fn token_user_sid() -> Option<String> {
    let token = current_token()?;
    let mut needed = 0u32;
    // SAFETY: a size query: null buffer with length 0 is the documented way to learn the size.
    unsafe { GetTokenInformation(token.0, TokenUser, null_mut(), 0, &mut needed) };
    if needed == 0 || needed > 4096 {
        return None;
    }
    // u64 elements: TOKEN_USER holds a pointer and needs pointer alignment.
    let mut buf = vec![0u64; (needed as usize).div_ceil(8)];
    // SAFETY: the buffer is at least `needed` bytes and suitably aligned.
    let ok = unsafe {
        GetTokenInformation(
            token.0,
            TokenUser,
            buf.as_mut_ptr().cast(),
            needed,
            &mut needed,
        )
    };
    if ok == 0 {
        return None;
    }
    // SAFETY: on success the buffer starts with a TOKEN_USER whose SID points inside `buf`,
    // which outlives this use.
    let sid = unsafe { (*buf.as_ptr().cast::<TOKEN_USER>()).User.Sid };
    sid_to_string(sid)
}

fn sid_to_string(sid: PSID) -> Option<String> {
    let mut text: *mut u16 = null_mut();
    // SAFETY: `sid` is a valid SID; on success `text` is a LocalAlloc'd NUL-terminated string.
    let ok = unsafe { ConvertSidToStringSidW(sid, &mut text) };
    if ok == 0 {
        return None;
    }
    let owner = LocalBox(text.cast());
    // SAFETY: `text` is NUL-terminated (see above) and freed only when `owner` drops.
    let s = unsafe { from_wide_ptr(text) };
    drop(owner);
    s
}

/// `DOMAIN\name` for a SID string (`NT AUTHORITY\SYSTEM`, `HOST\bob`); None when the SID
/// is unknown here (a deleted account, or a domain account with no DC to ask).
pub fn account_name(sid: &str) -> Option<String> {
    let text = wide(sid);
    let mut psid: PSID = null_mut();
    // SAFETY: `text` is NUL-terminated; on success `psid` is LocalAlloc'd and freed by `_owner`.
    if unsafe { ConvertStringSidToSidW(text.as_ptr(), &mut psid) } == 0 {
        return None;
    }
    let _owner = LocalBox(psid);
    let mut name = vec![0u16; 256];
    let mut domain = vec![0u16; 256];
    for _ in 0..2 {
        let mut name_len = name.len() as u32;
        let mut domain_len = domain.len() as u32;
        let mut kind: SID_NAME_USE = 0;
        // SAFETY: both buffers hold the lengths passed; `psid` is a valid SID.
        let ok = unsafe {
            LookupAccountSidW(
                null(),
                psid,
                name.as_mut_ptr(),
                &mut name_len,
                domain.as_mut_ptr(),
                &mut domain_len,
                &mut kind,
            )
        };
        if ok != 0 {
            let (name, domain) = (from_wide(&name), from_wide(&domain));
            return Some(if domain.is_empty() {
                name
            } else {
                format!("{domain}\\{name}")
            });
        }
        // SAFETY: no other call intervened since the failed one.
        if unsafe { GetLastError() } != ERROR_INSUFFICIENT_BUFFER {
            return None;
        }
        name.resize((name_len as usize).clamp(1, 4096), 0);
        domain.resize((domain_len as usize).clamp(1, 4096), 0);
    }
    None
}

/// The command line exactly as the process was started with it. Needs only
/// PROCESS_QUERY_LIMITED_INFORMATION (Windows 8.1+), so it works for more processes than
/// reading the PEB does.
pub fn command_line(pid: u32) -> std::io::Result<String> {
    // SAFETY: plain call; a null return is checked.
    let handle = unsafe { OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, 0, pid) };
    if handle.is_null() {
        return Err(std::io::Error::last_os_error());
    }
    let handle = Handle(handle);
    let mut buf = vec![0u64; 512];
    loop {
        let size = buf.len() * 8;
        let mut needed = 0u32;
        // SAFETY: the buffer holds `size` bytes, aligned for UNICODE_STRING.
        let status = unsafe {
            NtQueryInformationProcess(
                handle.0,
                ProcessCommandLineInformation,
                buf.as_mut_ptr().cast(),
                size as u32,
                &mut needed,
            )
        };
        let too_small = matches!(
            status,
            STATUS_INFO_LENGTH_MISMATCH | STATUS_BUFFER_TOO_SMALL | STATUS_BUFFER_OVERFLOW
        );
        if too_small && (needed as usize) > size && (needed as usize) <= MAX_COMMAND_LINE_BYTES {
            buf.resize((needed as usize).div_ceil(8), 0);
            continue;
        }
        if status < 0 {
            return Err(std::io::Error::other(format!(
                "NtQueryInformationProcess: NTSTATUS {:#010x}",
                status as u32
            )));
        }
        break;
    }
    let size = buf.len() * 8;
    // SAFETY: on success the buffer starts with a UNICODE_STRING.
    let us: UNICODE_STRING = unsafe { *buf.as_ptr().cast::<UNICODE_STRING>() };
    let base = buf.as_ptr() as usize;
    let start = us.Buffer as usize;
    let len = usize::from(us.Length);
    // The string is supposed to follow the header inside our buffer; refuse anything else
    // rather than read memory we do not own.
    if len == 0 || us.Buffer.is_null() {
        return Ok(String::new());
    }
    if start < base || start + len > base + size || !start.is_multiple_of(2) {
        return Err(std::io::Error::other(
            "command line outside the returned buffer",
        ));
    }
    // SAFETY: checked just above: `len` bytes at `start` lie inside `buf`, 2-byte aligned.
    let units = unsafe { std::slice::from_raw_parts(us.Buffer, len / 2) };
    Ok(String::from_utf16_lossy(units))
}

/// A REG_SZ (or REG_EXPAND_SZ, expanded) value under HKLM.
pub fn reg_string(subkey: &str, value: &str) -> Option<String> {
    let (subkey, value) = (wide(subkey), wide(value));
    let mut buf = vec![0u16; 256];
    for _ in 0..3 {
        let mut bytes = (buf.len() * 2) as u32;
        // SAFETY: both names are NUL-terminated; the buffer holds `bytes` bytes.
        let rc = unsafe {
            RegGetValueW(
                HKEY_LOCAL_MACHINE,
                subkey.as_ptr(),
                value.as_ptr(),
                RRF_RT_REG_SZ,
                null_mut(),
                buf.as_mut_ptr().cast(),
                &mut bytes,
            )
        };
        match rc {
            ERROR_SUCCESS => {
                let units = (bytes as usize / 2).min(buf.len());
                return Some(from_wide(&buf[..units])).filter(|s| !s.is_empty());
            }
            ERROR_MORE_DATA if bytes as usize <= 1 << 20 => {
                buf.resize((bytes as usize).div_ceil(2) + 1, 0);
            }
            _ => return None,
        }
    }
    None
}

/// A REG_DWORD value under HKLM.
pub fn reg_dword(subkey: &str, value: &str) -> Option<u32> {
    let (subkey, value) = (wide(subkey), wide(value));
    let mut data = 0u32;
    let mut bytes = size_of::<u32>() as u32;
    // SAFETY: both names are NUL-terminated; `data` holds the 4 bytes passed.
    let rc = unsafe {
        RegGetValueW(
            HKEY_LOCAL_MACHINE,
            subkey.as_ptr(),
            value.as_ptr(),
            RRF_RT_REG_DWORD,
            null_mut(),
            (&raw mut data).cast(),
            &mut bytes,
        )
    };
    (rc == ERROR_SUCCESS).then_some(data)
}

/// (SID, ProfileImagePath) for every profile the ProfileList key knows.
pub fn profile_list() -> Vec<(String, String)> {
    let key_name = wide(super::PROFILE_LIST);
    let mut key: HKEY = null_mut();
    // SAFETY: the name is NUL-terminated; `key` is a valid out-pointer, closed below.
    let rc = unsafe { RegOpenKeyExW(HKEY_LOCAL_MACHINE, key_name.as_ptr(), 0, KEY_READ, &mut key) };
    if rc != ERROR_SUCCESS {
        return Vec::new();
    }
    let mut sids = Vec::new();
    // Registry key names are at most 255 characters.
    let mut name = [0u16; 256];
    for index in 0..10_000u32 {
        let mut len = name.len() as u32;
        // SAFETY: `name` holds `len` units; the optional out-parameters are null.
        let rc = unsafe {
            RegEnumKeyExW(
                key,
                index,
                name.as_mut_ptr(),
                &mut len,
                null(),
                null_mut(),
                null_mut(),
                null_mut(),
            )
        };
        if rc != ERROR_SUCCESS {
            break;
        }
        sids.push(from_wide(&name[..(len as usize).min(name.len())]));
    }
    // SAFETY: `key` was opened above and is closed once.
    unsafe { RegCloseKey(key) };
    sids.into_iter()
        .filter_map(|sid| {
            let path = reg_string(
                &format!("{}\\{sid}", super::PROFILE_LIST),
                "ProfileImagePath",
            )?;
            Some((sid, path))
        })
        .collect()
}

/// "W. Europe Standard Time (UTC+01:00)": the zone's registry key name and its standard offset.
pub fn timezone() -> Option<String> {
    let mut tz = DYNAMIC_TIME_ZONE_INFORMATION::default();
    // SAFETY: `tz` is a valid out-pointer of the right type.
    if unsafe { GetDynamicTimeZoneInformation(&mut tz) } == TIME_ZONE_ID_INVALID {
        return None;
    }
    let mut name = from_wide(&tz.TimeZoneKeyName);
    if name.is_empty() {
        name = from_wide(&tz.StandardName);
    }
    // Bias is minutes to *add* to local time to get UTC.
    let offset = -tz.Bias;
    let sign = if offset < 0 { '-' } else { '+' };
    let offset = offset.unsigned_abs();
    let utc = format!("UTC{sign}{:02}:{:02}", offset / 60, offset % 60);
    Some(if name.is_empty() {
        utc
    } else {
        format!("{name} ({utc})")
    })
}

/// The machine's DNS domain (`corp.example.com`); None on a workgroup machine.
pub fn dns_domain() -> Option<String> {
    let mut buf = vec![0u16; 256];
    for _ in 0..2 {
        let mut len = buf.len() as u32;
        // SAFETY: `buf` holds `len` units.
        let ok = unsafe { GetComputerNameExW(ComputerNameDnsDomain, buf.as_mut_ptr(), &mut len) };
        if ok != 0 {
            return Some(from_wide(&buf[..(len as usize).min(buf.len())]))
                .filter(|s| !s.is_empty());
        }
        // SAFETY: no other call intervened since the failed one.
        if unsafe { GetLastError() } != ERROR_MORE_DATA || len as usize > 4096 {
            return None;
        }
        buf.resize(len as usize + 1, 0);
    }
    None
}

/// The NetBIOS name of the domain the machine is joined to (not a workgroup's name).
pub fn joined_domain() -> Option<String> {
    let mut name: *mut u16 = null_mut();
    let mut status = 0;
    // SAFETY: both out-pointers are valid; the name buffer is freed with NetApiBufferFree.
    let rc = unsafe { NetGetJoinInformation(null(), &mut name, &mut status) };
    if rc != 0 {
        return None;
    }
    // SAFETY: on success `name` is a NUL-terminated string allocated by netapi32.
    let text = unsafe { from_wide_ptr(name) };
    if !name.is_null() {
        // SAFETY: allocated by NetGetJoinInformation, freed once.
        unsafe { NetApiBufferFree(name.cast()) };
    }
    text.filter(|_| status == NetSetupDomainName)
        .filter(|s| !s.is_empty())
}

/// Background processing mode for this process: lowest CPU, I/O and memory priority
/// (`--low-impact`). Best effort.
pub fn enter_background_mode() -> bool {
    use windows_sys::Win32::System::Threading::{
        GetCurrentProcess, PROCESS_MODE_BACKGROUND_BEGIN, SetPriorityClass,
    };
    // SAFETY: GetCurrentProcess returns a pseudo-handle that needs no closing; SetPriorityClass
    // only changes this process's scheduling class.
    unsafe { SetPriorityClass(GetCurrentProcess(), PROCESS_MODE_BACKGROUND_BEGIN) != 0 }
}

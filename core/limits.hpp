#pragma once
// Every protocol constant and resource limit, named, in one place, each with the reason it has its value.
// PROTOCOL.md sections are cited as §n.

#include <chrono>
#include <cstddef>
#include <cstdint>

namespace mk::limits {

using namespace std::chrono_literals;

// -- wire (§1) --
inline constexpr std::size_t max_datagram = 64 * 1024;   // §1 FIX: cap at 64 KiB (OS max is 65507)
inline constexpr std::size_t max_username = 64;          // §4 FIX: bounded; the original has no limit
inline constexpr std::size_t max_file_name = 255;
inline constexpr std::size_t max_folder_path = 1024;      // FOLDERFILE <path>: a file's path inside its folder
inline constexpr std::uint64_t max_folder_files = 100000;  // files in one folder offer
inline constexpr std::size_t max_folder_depth = 32;        // directories nested in one folder offer
inline constexpr std::size_t folder_files_in_flight = 8;   // files of one folder offer being sent at once (the rest wait)        // longest name common file systems allow
inline constexpr std::size_t max_text = 16 * 1024;       // a chat line; far above any human message
inline constexpr std::size_t max_reason = 256;           // DISCONNECT reason
inline constexpr std::size_t max_pubkey_b64 = 512;       // a P-521 SPKI is 212 chars; leave room for errors to be typed
inline constexpr std::size_t pubkey_b64_len = 212;       // §2: P-521 SPKI, uncompressed point
inline constexpr std::size_t max_signature_b64 = 256;    // §2: DER ECDSA P-521 is at most 139 bytes = 188 chars
inline constexpr std::size_t nonce_bytes = 36;           // §2: 36 random bytes -> 48 base64 chars
inline constexpr std::size_t hash_bytes = 48;            // §10: SHA-384 -> 64 base64 chars
inline constexpr std::size_t max_chunk = 1024;           // §10: CHUNK_SIZE
// Between mokaccino nodes (MKCAPS `pmtu1`) a FILE line or 'F' record carries up to this many bytes: chunks as large
// as the path's datagram budget allows (loopback and jumbo frames), or a piece of one split for a smaller path.
inline constexpr std::size_t max_file_piece = 16384;
inline constexpr std::size_t max_audio_packet = 1275;    // largest legal Opus packet (RFC 6716)
inline constexpr std::size_t legacy_audio_packet = 60;   // §9 MUST: the original's buffer holds 60 bytes
inline constexpr std::size_t gcm_iv_bytes = 8;           // §11: 8-byte IV
inline constexpr std::size_t gcm_tag_bytes = 16;         // §11: 16-byte tag
inline constexpr std::uint16_t default_port = 23232;     // §1
inline constexpr std::size_t max_endpoint = 64;           // §7: REQUESTED "ip:port" text; IPv6 + port fits easily
inline constexpr std::size_t max_sack_ranges = 16;       // FILESACK extension: bounded selective-ACK list
inline constexpr std::size_t max_caps_features = 32;     // MKCAPS extension: bounded feature list
inline constexpr std::size_t max_feature_name = 32;      // MKCAPS extension: one feature name

// -- crypto (§2, §10, §11) --
inline constexpr std::size_t blinding_seed_bytes = 32;   // seeds an ephemeral key's ECDH blinding RNG (256-bit)
inline constexpr std::size_t legacy_iv_memory = 4096;  // §14 FIX: IVs of opened C lines remembered per key (replays refused); 32 KiB per peer
inline constexpr auto rekey_after = 120s;                // envelope: a new epoch every 2 minutes (WireGuard's REKEY_AFTER_TIME) ...
inline constexpr std::uint64_t rekey_after_datagrams = 1ull << 32;  // ... or after this many datagrams in one epoch
inline constexpr std::size_t hash_threads = 2;        // threads that hash the files a node is about to offer
inline constexpr std::uint64_t hash_slice = 64u << 10;  // ...taking turns over the waiting files this many bytes at a time
inline constexpr std::size_t hash_read_chunk = 64 * 1024; // file hashing reads this much at a time: files never sit in RAM

// -- connection (§5, §6, §7) --
inline constexpr auto handshake_timeout = 10s;           // §5: pending state older than 10 s is dropped
inline constexpr auto connect_retransmit = 2s;           // FIX §14: the original never retransmits CONNECT
inline constexpr int connect_attempts = 4;               // 4 sends within the 10 s window
inline constexpr auto keepalive_tick = 500ms;            // §6: the check runs every 500 ms
inline constexpr auto ping_interval = 1s;                // §6: ping when >1 s since the last
inline constexpr auto min_ping_rtt = 20ms;               // §6: strike after 3 x max(avg, 20 ms)
inline constexpr int max_strikes = 6;                    // §6: 6 strikes -> timed out
inline constexpr auto request_timeout = 10s;             // §7: REQUEST pending for 10 s
inline constexpr auto crypt_resend = 2s;                 // §11: CRYPTSTART/CRYPTACCEPT resent every 2 s
inline constexpr std::size_t max_half_open = 256;        // flood guard: pending inbound handshakes
inline constexpr std::size_t max_pending_prompts = 64;   // flood guard: questions waiting for the user
inline constexpr std::size_t max_pending_requests = 64;  // flood guard: introductions in flight
inline constexpr std::size_t max_peers = 4096;           // flood guard: connected peers
inline constexpr std::size_t max_verifies_per_tick = 10; // flood guard: signature checks per peer per 500 ms (~20/s)
inline constexpr std::size_t max_verify_burst = 40;      // ... with this much burst (a handshake plus CRYPT rounds)
// Issue 13: every new source port bought a fresh per-session burst; the node-wide budget bounds the total.
// 200/s at ~1.3 ms each is at most about a quarter of one core; a burst of 400 lets 100 peers reconnect at once.
inline constexpr double global_verifies_per_second = 200;
inline constexpr double global_verify_burst = 400;
// Issue 13, cookies (core/crypto/connect_cookie.hpp): CONNECTs from addresses not proven by an echoed MKCOOKIE
// may not spend the last `verify_reserve` tokens nor the last `half_open_reserve` half-open slots; those are for
// established sessions and proven newcomers. Proofs are remembered for a few seconds, at most `max_proven`.
inline constexpr double verify_reserve = 100;
inline constexpr std::size_t half_open_reserve = 64;
inline constexpr std::size_t max_proven = 1024;
inline constexpr auto proven_lifetime = 10s;
inline constexpr int max_cookie_echoes = 3;               // per connect attempt
inline constexpr std::size_t max_half_open_per_ip = 32;   // flood guard: one address cannot take every slot
inline constexpr std::size_t max_prompts_per_peer = 8;    // flood guard: file/call questions one peer has pending
inline constexpr std::size_t max_pinned_keys = 4096;      // flood guard: pins made by trust on first use (the file
                                                          // is rewritten at every pin); `key add` is not limited

// -- file transfer (§10) --
inline constexpr std::size_t legacy_window_chunks = 10;  // §10: the original's fixed window
inline constexpr auto legacy_probe_interval = 10ms;  // toward an original: ACK probes at most this often (its own resend loop period)
inline constexpr std::size_t legacy_max_window_chunks = 32;  // toward an original: its default socket buffer holds ~45 encrypted FILE datagrams
inline constexpr auto file_ack_interval = 100ms;         // §10: receiver ACKs every 100 ms
inline constexpr auto file_resend_after = 200ms;         // §10: sender resends after 200 ms
inline constexpr auto file_accept_timeout = 11s;         // §10: "more than 10 whole seconds"
inline constexpr auto transfer_stall_timeout = 30s;      // §10 FIX: no ACK progress (or no data) this long -> failed
inline constexpr std::size_t transfer_max_window = 2u << 20;   // bytes in flight per transfer: bounds sender state
inline constexpr std::size_t transfer_peer_window = 2u << 20;  // bytes in flight to one peer, split evenly among its transfers (fairness)...
inline constexpr std::size_t transfer_min_share = 32u << 10;   // ...but never below this each: at 8 KiB (256 transfers), ACKs and tiny batches cost 40% of the rate
inline constexpr std::size_t transfer_reorder_window = 2u << 20; // receiver stores at most this far above next (>= window)
inline constexpr std::size_t transfer_max_ranges = 1024;  // receiver's out-of-order ranges: bounded whatever the peer sends
inline constexpr std::size_t transfer_min_cwnd_chunks = 10; // extended peer: floor after a decrease (the original's fixed window: random loss must not starve a transfer)
inline constexpr auto transfer_initial_rto = 1s;          // RFC 6298 initial RTO
inline constexpr auto transfer_min_rto = 200ms;           // floor: the original's resend delay (§10); LAN RTTs are far lower
inline constexpr auto transfer_max_rto = 5s;              // cap on backoff: several tries fit in the stall timeout
inline constexpr auto transfer_target_delay = 25ms;       // LEDBAT target queuing delay: keeps pings and chat prompt
inline constexpr std::size_t transfer_delay_filter = 4;   // LEDBAT current-delay filter: min of the last 4 RTT samples
inline constexpr auto transfer_ack_delay = 10ms;          // extended receiver: longest an ACK is held back
inline constexpr std::size_t transfer_ack_every_chunks = 4; // extended receiver: ACK at least every 4 in-order chunks
inline constexpr auto transfer_ack_heartbeat = 1s;        // extended receiver: ACK an unchanged state this often
inline constexpr int transfer_final_ack_repeats = 3;      // §10 FIX: repeat FILEACK size so a lost final ACK cannot stall
inline constexpr std::size_t completed_transfer_memory = 256; // §10 FIX: completed hashes still answered with FILEACK size
inline constexpr auto completed_transfer_ttl = 60s;       // how long a completed hash is remembered
inline constexpr auto file_init_resend = 1s;              // §10 FIX: FILEINIT is retransmitted until accepted, between mokaccino nodes only (an original prompts once per FILEINIT)
inline constexpr std::size_t transfer_io_block = 64 * 1024; // sender read-ahead / receiver write coalescing: one syscall per 64 chunks
// Resume (issue 15): a receiver's record of what its partial file holds is brought up to date this often, or after
// this many new bytes (a process killed at any moment loses at most that much).
inline constexpr auto resume_checkpoint_interval = 1s;
inline constexpr std::uint64_t resume_checkpoint_bytes = 8ull << 20;
inline constexpr std::uint64_t resume_rehash_slice = 8ull << 20;  // a resumed prefix is hashed this much per turn
inline constexpr auto resume_request_resend = 1s;          // FILERESUME repeated until FILEFROM answers
inline constexpr std::size_t max_partial_files = 4096;     // partial files the service indexes in the download dir
inline constexpr auto transfer_report_interval = 500ms;   // transfer actor -> service progress (file list) and rate sampling
inline constexpr auto transfer_event_interval = 1s;       // progress events to front ends (--json, progress line)
inline constexpr auto file_prompt_timeout = 10s;          // an unanswered "accept this file?" is a refusal
inline constexpr std::size_t max_active_transfers = 1024; // flood guard: transfers in progress per node
inline constexpr std::size_t max_incoming_per_peer = 256; // ... of which one peer's offers may hold at most a quarter
inline constexpr int max_unique_name_attempts = 10000;  // "name (n).ext" tries before giving up

// -- audio (§9) --
inline constexpr int audio_sample_rate = 48000;              // §9: 48 kHz mono int16 on both wire formats
inline constexpr int legacy_frame_samples = 120;             // §9 MUST: 2.5 ms frames toward an original node
inline constexpr int modern_frame_samples = 960;             // 20 ms frames between mokaccino nodes (50 pkt/s)
inline constexpr int modern_bitrate = 32000;                 // wideband speech with room for in-band FEC
inline constexpr int modern_expected_loss_pct = 10;          // makes the encoder spend bits on FEC (LBRR)
inline constexpr int modern_complexity = 1;                  // network.audio.complexity default: Opus effort 1 encodes in ~120 us per 20 ms (5: ~200-280 us), and a call fits in 3% of a core
inline constexpr int default_audio_threshold = 40;           // §9: network.audio.threshold default (0 = off)
inline constexpr auto jitter_min_delay = 20ms;               // one modern frame: the least buffering that works
inline constexpr auto jitter_start_delay = 40ms;             // until enough arrivals are seen to measure jitter
inline constexpr auto jitter_max_delay = 120ms;              // cap on added latency; the original built up 640 ms (§14)
inline constexpr auto jitter_resync_gap = 2s;                // silence this long starts a fresh talk spurt
inline constexpr std::uint32_t jitter_resync_seq = 500;      // a seq jump this large (10 s) is a new stream
inline constexpr auto legacy_fifo_max_delay = 40ms;          // §14 FIX: the original's 256-entry FIFO held 640 ms
inline constexpr std::size_t max_wav_bytes = 512u << 20;     // 45 min of 48 kHz stereo; refuse larger files
inline constexpr double audio_tone_amplitude = 8000;           // tone:<hz> source: loud enough for VAD, far from clipping
inline constexpr std::uint64_t max_wav_sink_bytes = 1u << 30;  // a WAV output stops growing after ~3 h of 48 kHz mono
inline constexpr auto audio_device_ring = 500ms;               // RtAudio <-> pipeline ring: absorbs scheduling hiccups
inline constexpr auto audio_tick_floor = 5ms;                  // pipeline wakes at most every 5 ms (legacy: 2 frames/wake)
inline constexpr std::size_t call_inbox_max = 256;           // received packets waiting for the media thread (0.64 s of legacy)
inline constexpr auto audio_max_catch_up = 200ms;              // after a stall, skip rather than burst more than this
inline constexpr int audio_device_frames = 480;               // RtAudio buffer: 10 ms, a common period that rarely underruns
inline constexpr auto call_prompt_timeout = 120s;              // an unanswered "accept this call?" is a refusal
inline constexpr auto audio_probe_delay = 300ms;               // startup device notice: after front ends have subscribed
inline constexpr auto legacy_prebuffer = 10ms;                 // legacy receive: 4 packets absorb tick and arrival jitter
inline constexpr auto audio_device_max_fill = 80ms;             // playback device queue cap: clock drift must not add latency

}  // namespace mk::limits

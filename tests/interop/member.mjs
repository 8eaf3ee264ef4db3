// An "Element-like" Matrix member for Solidarity's interop tests.
//
// It is matrix-js-sdk with its Rust crypto (the crypto core of Element Web),
// run under Node and driven by a test through JSON lines:
//
//   stdin : one request per line   {"id": 1, "cmd": "send", "room_id": "!r", "body": "hi"}
//   stdout: one response per line  {"id": 1, "ok": true, "result": {"event_id": "$e"}}
//                               or {"id": 1, "ok": false, "error": "...", "code": "timeout"}
//   stderr: logs (js-sdk's own logging included), never protocol.
//
// Requests are handled concurrently (a `wait_message` may be pending while a
// `send` runs), so responses can come back out of order: match them by `id`.
// The first request must be `init`. See COMMANDS below for the full list;
// tests/interop/member.py wraps all of this for pytest.
//
// Usage: node member.mjs [--log-level debug|info|warn]   (default info)

import readline from "node:readline";
import process from "node:process";

// --- logging: keep stdout for the protocol -----------------------------------
//
// js-sdk logs through loglevel -> console.{debug,info,log,...}, and Node sends
// console.log/info/debug to stdout, which would corrupt the protocol. Route
// every console method to stderr and drop the chatty levels unless asked for.
const LEVELS = { debug: 10, info: 20, warn: 30, error: 40 };
const levelArg = process.argv.indexOf("--log-level");
const LOG_LEVEL = LEVELS[levelArg > 0 ? process.argv[levelArg + 1] : "info"] ?? LEVELS.info;
const startedAt = Date.now();

function emitLog(level, args) {
    if (LEVELS[level] < LOG_LEVEL) return;
    const text = args
        .map((a) => (a instanceof Error ? a.stack || String(a) : typeof a === "string" ? a : safeJson(a)))
        .join(" ");
    const t = ((Date.now() - startedAt) / 1000).toFixed(3);
    process.stderr.write(`[member +${t}s ${level}] ${text}\n`);
}
function safeJson(value) {
    try {
        return JSON.stringify(value);
    } catch {
        return String(value);
    }
}
console.log = (...a) => emitLog("info", a);
console.info = (...a) => emitLog("info", a);
console.debug = (...a) => emitLog("debug", a);
console.trace = (...a) => emitLog("debug", a); // no stack dumps for trace-level chatter
console.warn = (...a) => emitLog("warn", a);
console.error = (...a) => emitLog("error", a);
const log = (...a) => emitLog("info", ["[driver]", ...a]);

// Imported after the console is patched, so that nothing reaches stdout even
// at import time.
const sdk = await import("matrix-js-sdk");
const cryptoApi = await import("matrix-js-sdk/lib/crypto-api/index.js");
const {
    AllDevicesIsolationMode,
    OnlySignedDevicesIsolationMode,
    CryptoEvent,
    EventShieldColour,
    EventShieldReason,
    VerificationPhase,
    VerifierEvent,
} = cryptoApi;
const { DeviceVerification } = sdk;

// --- small helpers ------------------------------------------------------------

class CommandError extends Error {
    constructor(message, code = "error") {
        super(message);
        this.code = code;
    }
}

function required(args, name) {
    const value = args[name];
    if (value === undefined || value === null || value === "") {
        throw new CommandError(`missing argument '${name}'`, "bad_request");
    }
    return value;
}

/** Seconds from the request (float) to milliseconds, with a default. */
function timeoutMs(args, defaultSeconds) {
    const seconds = args.timeout ?? defaultSeconds;
    return Math.round(Number(seconds) * 1000);
}

// Waiters re-check their condition whenever the client reports something that
// may have changed it (sync, timeline, decryption, membership, verification).
// A slow fallback poll covers state changes that emit no event we listen to.
const waiters = new Set();
function notifyWaiters() {
    for (const wake of waiters) wake();
}

/**
 * Resolve with the first truthy value of `check()` (may be async), or throw a
 * "timeout" CommandError after `ms` with `describe()` as the message.
 */
async function waitFor(check, ms, describe) {
    const deadline = Date.now() + ms;
    for (;;) {
        const value = await check();
        if (value) return value;
        const left = deadline - Date.now();
        if (left <= 0) {
            throw new CommandError(`timeout after ${ms / 1000} s: ${describe()}`, "timeout");
        }
        await new Promise((resolve) => {
            const wake = () => {
                waiters.delete(wake);
                clearTimeout(timer);
                resolve();
            };
            const timer = setTimeout(wake, Math.min(left, 250));
            waiters.add(wake);
        });
    }
}

function enumName(enumObject, value) {
    // TypeScript numeric enums compile to two-way maps; string enums do not.
    if (value === null || value === undefined) return null;
    return typeof value === "number" ? (enumObject[value] ?? String(value)) : value;
}

// --- member state ---------------------------------------------------------------

let client = null;
let password = null; // kept for user-interactive auth (cross-signing upload)
const secretStorageKeys = new Map(); // key id -> private key bytes

// Every message-like timeline event from others, in arrival order. wait_message
// consumes them in order, so each message is reported once.
const received = []; // {event, roomId, firstSeen, failingSince, consumed}
const seenEventIds = new Set();
const invitesReported = new Set();
const toDeviceLog = []; // {type, sender} of every to-device event we got

// Verification requests, by a short handle the test uses ("v1", "v2", ...).
const verifications = new Map();
let verificationCounter = 0;
const incomingVerifications = []; // handles of requests received, in order

function registerVerification(request) {
    const handle = `v${++verificationCounter}`;
    const entry = { request, verifier: null, sas: null, verifyPromise: null, verifyError: null };
    verifications.set(handle, entry);
    request.on("change", notifyWaiters);
    return handle;
}

function getVerification(args) {
    const handle = required(args, "verification");
    const entry = verifications.get(handle);
    if (!entry) throw new CommandError(`unknown verification '${handle}'`, "bad_request");
    return entry;
}

function describeVerification(handle, entry) {
    const r = entry.request;
    return {
        verification: handle,
        transaction_id: r.transactionId ?? null,
        room_id: r.roomId ?? null,
        other_user_id: r.otherUserId,
        other_device_id: r.otherDeviceId ?? null,
        initiated_by_me: r.initiatedByMe,
        phase: enumName(VerificationPhase, r.phase),
        chosen_method: r.chosenMethod ?? null,
        cancellation_code: r.cancellationCode ?? null,
        cancelling_user_id: r.cancellingUserId ?? null,
        verify_error: entry.verifyError,
    };
}

/** Start the verifier's protocol once, and remember the SAS when it shows. */
function runVerifier(entry, verifier) {
    if (entry.verifier) return;
    entry.verifier = verifier;
    verifier.on(VerifierEvent.ShowSas, (sas) => {
        entry.sas = sas;
        notifyWaiters();
    });
    verifier.on(VerifierEvent.Cancel, notifyWaiters);
    // verify() resolves when the whole exchange is done (after both confirm).
    entry.verifyPromise = verifier.verify().then(
        () => notifyWaiters(),
        (e) => {
            entry.verifyError = String(e?.message ?? e);
            notifyWaiters();
        },
    );
}

function sasResult(handle, entry) {
    return {
        ...describeVerification(handle, entry),
        emoji: (entry.sas.sas.emoji ?? []).map(([emoji, name]) => ({ emoji, name })),
        decimal: entry.sas.sas.decimal ?? null,
    };
}

async function describeMessage(item) {
    const event = item.event;
    const failed = event.isDecryptionFailure();
    const content = failed ? null : event.getContent();
    let encryptionInfo = null;
    if (event.isEncrypted() && !failed) {
        encryptionInfo = await client.getCrypto().getEncryptionInfoForEvent(event);
    }
    return {
        event_id: event.getId(),
        room_id: item.roomId,
        sender: event.getSender(),
        type: event.getType(),
        encrypted: event.isEncrypted(),
        body: content?.body ?? null,
        msgtype: content?.msgtype ?? null,
        content,
        decryption_failed: failed,
        // e.g. UNSIGNED_SENDER_DEVICE, MEGOLM_KEY_WITHHELD_FOR_UNVERIFIED_DEVICE
        decryption_failure_reason: failed ? (event.decryptionFailureReason ?? "UNKNOWN") : null,
        // e.g. {colour: "RED", reason: "UNSIGNED_DEVICE"}; null if not encrypted or undecryptable
        shield: encryptionInfo
            ? {
                  colour: enumName(EventShieldColour, encryptionInfo.shieldColour),
                  reason: enumName(EventShieldReason, encryptionInfo.shieldReason),
              }
            : null,
    };
}

function requireClient() {
    if (!client) throw new CommandError("send 'init' first", "bad_request");
    return client;
}

async function waitForRoom(roomId, ms) {
    // Sending into a room the client has not synced yet could go out unencrypted
    // or fail; wait until the room and its encryption state are known.
    const crypto = client.getCrypto();
    await waitFor(
        async () => client.getRoom(roomId) && (await crypto.isEncryptionEnabledInRoom(roomId)),
        ms,
        () => `room ${roomId} (encrypted) not synced`,
    );
}

async function uploadCrossSigningAuth(makeRequest) {
    // Synapse asks for user-interactive auth to upload cross-signing keys; it
    // accepts the password stage.
    if (!password) throw new CommandError("cross-signing upload needs the password (give it in init)");
    await makeRequest({
        type: "m.login.password",
        identifier: { type: "m.id.user", user: client.getUserId() },
        password,
    });
}

// --- commands --------------------------------------------------------------------

const COMMANDS = {
    /**
     * {homeserver, user_id, password?, access_token?, device_id?, timeout?}
     * Logs in with the password unless an access token (and its device id) is
     * given, starts Rust crypto in memory and syncs once.
     * -> {user_id, device_id, crypto_version, ed25519, curve25519}
     */
    async init(args) {
        if (client) throw new CommandError("already initialised", "bad_request");
        const baseUrl = required(args, "homeserver").replace(/\/+$/, "");
        const userId = required(args, "user_id");
        password = args.password ?? null;
        let accessToken = args.access_token ?? null;
        let deviceId = args.device_id ?? null;
        if (!accessToken) {
            // Plain fetch rather than js-sdk's login helpers: the endpoint is
            // stable and this keeps us independent of their deprecations.
            const resp = await fetch(`${baseUrl}/_matrix/client/v3/login`, {
                method: "POST",
                headers: { "Content-Type": "application/json" },
                body: JSON.stringify({
                    type: "m.login.password",
                    identifier: { type: "m.id.user", user: userId },
                    password: required(args, "password"),
                    ...(deviceId ? { device_id: deviceId } : {}),
                    initial_device_display_name: args.device_name ?? "interop js member",
                }),
            });
            const body = await resp.json();
            if (!resp.ok) throw new CommandError(`login failed: ${resp.status} ${safeJson(body)}`, "login");
            accessToken = body.access_token;
            deviceId = body.device_id;
        } else if (!deviceId) {
            throw new CommandError("access_token needs device_id", "bad_request");
        }

        client = sdk.createClient({
            baseUrl, userId, deviceId, accessToken,
            // Secret-storage keys this member created (bootstrap_secret_storage),
            // handed back when the crypto stores secrets with them.
            cryptoCallbacks: {
                getSecretStorageKey: async ({ keys }) => {
                    const keyId = Object.keys(keys).find((id) => secretStorageKeys.has(id));
                    return keyId ? [keyId, secretStorageKeys.get(keyId)] : null;
                },
                cacheSecretStorageKey: (keyId, _info, key) => secretStorageKeys.set(keyId, key),
            },
        });
        // In-memory crypto store: no IndexedDB in Node and none needed, and no
        // store/pickle key either (nothing is persisted; a restart is a new device).
        await client.initRustCrypto({ useIndexedDB: false });

        client.on(sdk.RoomEvent.Timeline, (event, room, toStartOfTimeline) => {
            if (toStartOfTimeline || !room || event.isState()) return;
            if (event.getSender() === client.getUserId()) return;
            const type = event.getWireType?.() ?? event.getType();
            if (type !== "m.room.message" && type !== "m.room.encrypted") return;
            if (seenEventIds.has(event.getId())) return;
            seenEventIds.add(event.getId());
            received.push({ event, roomId: room.roomId, firstSeen: Date.now(), failingSince: null, consumed: false });
            notifyWaiters();
        });
        client.on(sdk.MatrixEventEvent.Decrypted, notifyWaiters);
        client.on(sdk.ClientEvent.Sync, notifyWaiters);
        client.on(sdk.ClientEvent.Room, notifyWaiters);
        client.on(sdk.RoomMemberEvent.Membership, notifyWaiters);
        client.on(sdk.ClientEvent.ToDeviceEvent, (event) => {
            toDeviceLog.push({ type: event.getType(), sender: event.getSender() });
            notifyWaiters();
        });
        client.on(CryptoEvent.VerificationRequestReceived, (request) => {
            const handle = registerVerification(request);
            incomingVerifications.push(handle);
            log(`verification request ${handle} from ${request.otherUserId}`);
            notifyWaiters();
        });
        client.on(CryptoEvent.UserTrustStatusChanged, notifyWaiters);

        let syncError = null;
        client.on(sdk.ClientEvent.Sync, (state, _prev, data) => {
            if (state === "ERROR") syncError = data?.error?.message ?? "sync error";
        });
        await client.startClient({ initialSyncLimit: 20 });
        await waitFor(
            () => {
                if (syncError) throw new CommandError(`first sync failed: ${syncError}`, "sync");
                return client.isInitialSyncComplete();
            },
            timeoutMs(args, 30),
            () => "first sync",
        );
        const keys = await client.getCrypto().getOwnDeviceKeys();
        log(`ready as ${userId} / ${deviceId}`);
        return {
            user_id: userId,
            device_id: deviceId,
            crypto_version: client.getCrypto().getVersion(),
            ed25519: keys.ed25519,
            curve25519: keys.curve25519,
        };
    },

    /**
     * {strict?: true}
     * strict: OnlySignedDevicesIsolationMode (MSC4153, "exclude insecure
     * devices"): room keys go only to devices cross-signed by their owner, and
     * events from other devices fail to decrypt (UNSIGNED_SENDER_DEVICE).
     * strict false: AllDevicesIsolationMode(false), js-sdk's default.
     */
    async set_strict(args) {
        const strict = args.strict ?? true;
        requireClient()
            .getCrypto()
            .setDeviceIsolationMode(strict ? new OnlySignedDevicesIsolationMode() : new AllDevicesIsolationMode(false));
        return { strict };
    },

    /**
     * {reset?: false}
     * Creates and uploads this user's cross-signing keys and signs this device
     * with them, as Element does at first login. reset: replace existing keys
     * (others then see an identity change). Needs the password from init.
     * -> {ready, master_key}
     */
    async bootstrap_cross_signing(args) {
        const crypto = requireClient().getCrypto();
        await crypto.bootstrapCrossSigning({
            setupNewCrossSigning: Boolean(args.reset),
            authUploadDeviceSigningKeys: uploadCrossSigningAuth,
        });
        return { ready: await crypto.isCrossSigningReady(), master_key: await crypto.getCrossSigningKeyId() };
    },

    /**
     * {passphrase}: cross-signing plus secret storage whose key derives from a
     * security phrase (m.pbkdf2), as Element's "set up secure backup" with a
     * phrase does; the cross-signing private keys are stored in it.
     * -> {ready, master_key, key_id}
     */
    async bootstrap_secret_storage(args) {
        const crypto = requireClient().getCrypto();
        const phrase = required(args, "passphrase");
        await crypto.bootstrapCrossSigning({ authUploadDeviceSigningKeys: uploadCrossSigningAuth });
        await crypto.bootstrapSecretStorage({
            createSecretStorageKey: () => crypto.createRecoveryKeyFromPassphrase(phrase),
            setupNewSecretStorage: true,
        });
        const keyId = client.getAccountData("m.secret_storage.default_key")?.getContent()?.key ?? null;
        return {
            ready: await crypto.isSecretStorageReady(),
            master_key: await crypto.getCrossSigningKeyId(),
            key_id: keyId,
        };
    },

    /**
     * {invite?: [user_id], name?, dm?: false, timeout?}
     * Creates an encrypted room (megolm), like Element's "new room"/"start DM".
     * dm: is_direct invite, trusted_private_chat preset, m.direct account data.
     * Returns once the room is synced and known as encrypted. -> {room_id}
     */
    async create_room(args) {
        requireClient();
        const invite = args.invite ?? [];
        const opts = {
            preset: args.dm ? "trusted_private_chat" : "private_chat",
            invite,
            initial_state: [
                { type: "m.room.encryption", state_key: "", content: { algorithm: "m.megolm.v1.aes-sha2" } },
            ],
        };
        if (args.name) opts.name = args.name;
        if (args.dm) opts.is_direct = true;
        const { room_id: roomId } = await client.createRoom(opts);
        if (args.dm) {
            const direct = { ...(client.getAccountData("m.direct")?.getContent() ?? {}) };
            for (const userId of invite) direct[userId] = [...(direct[userId] ?? []), roomId];
            await client.setAccountData("m.direct", direct);
        }
        await waitForRoom(roomId, timeoutMs(args, 30));
        return { room_id: roomId };
    },

    /** {user_id, timeout?} -> {room_id}: create_room with dm=true. */
    async create_dm(args) {
        return COMMANDS.create_room({ ...args, invite: [required(args, "user_id")], dm: true });
    },

    /**
     * {from?: user_id, timeout?: 30}
     * Waits for an invite (not reported before) -> {room_id, inviter, is_direct}
     */
    async wait_invite(args) {
        requireClient();
        const from = args.from ?? null;
        return waitFor(
            () => {
                for (const room of client.getRooms()) {
                    if (room.getMyMembership() !== "invite" || invitesReported.has(room.roomId)) continue;
                    const me = room.getMember(client.getUserId());
                    const inviter = me?.events?.member?.getSender() ?? null;
                    if (from && inviter !== from) continue;
                    invitesReported.add(room.roomId);
                    return {
                        room_id: room.roomId,
                        inviter,
                        is_direct: Boolean(me?.events?.member?.getContent()?.is_direct),
                    };
                }
                return null;
            },
            timeoutMs(args, 30),
            () => `invite${from ? ` from ${from}` : ""}`,
        );
    },

    /** {room_id, timeout?} -> {room_id}: joins and waits until synced. */
    async join(args) {
        requireClient();
        const roomId = required(args, "room_id");
        await client.joinRoom(roomId);
        await waitFor(
            () => client.getRoom(roomId)?.getMyMembership() === "join",
            timeoutMs(args, 30),
            () => `own join in ${roomId} not synced`,
        );
        return { room_id: roomId };
    },

    /**
     * {room_id, user_id, timeout?: 30}
     * Waits until user_id's membership in room_id is "join" (send only after
     * that, or the new member gets no room key). -> {room_id, user_id}
     */
    async wait_joined(args) {
        requireClient();
        const roomId = required(args, "room_id");
        const userId = required(args, "user_id");
        await waitFor(
            () => client.getRoom(roomId)?.getMember(userId)?.membership === "join",
            timeoutMs(args, 30),
            () => `${userId} joined ${roomId}`,
        );
        return { room_id: roomId, user_id: userId };
    },

    /**
     * {room_id, body, msgtype?: "m.text", timeout?}
     * Sends an (encrypted, if the room is) message. -> {event_id}
     */
    async send(args) {
        requireClient();
        const roomId = required(args, "room_id");
        await waitForRoom(roomId, timeoutMs(args, 30));
        const content = { msgtype: args.msgtype ?? "m.text", body: String(required(args, "body")) };
        const { event_id: eventId } = await client.sendMessage(roomId, content);
        return { event_id: eventId };
    },

    /**
     * {room_id, sender, timeout?: 30, grace?: 3}
     * Next not-yet-reported message from `sender` in `room_id` (in arrival
     * order). A message that fails to decrypt is reported as failed only after
     * `grace` seconds, since its key may still arrive. ->
     * {event_id, sender, type, encrypted, body, msgtype, content,
     *  decryption_failed, decryption_failure_reason, shield: {colour, reason} | null}
     */
    async wait_message(args) {
        requireClient();
        const roomId = required(args, "room_id");
        const sender = required(args, "sender");
        const graceMs = Number(args.grace ?? 3) * 1000;
        const item = await waitFor(
            () => {
                const next = received.find((r) => !r.consumed && r.roomId === roomId && r.event.getSender() === sender);
                if (!next) return null;
                const event = next.event;
                if (event.isBeingDecrypted() || event.shouldAttemptDecryption()) return null;
                if (event.isDecryptionFailure()) {
                    next.failingSince ??= Date.now();
                    if (Date.now() - next.failingSince < graceMs) return null;
                } else {
                    next.failingSince = null;
                }
                return next;
            },
            timeoutMs(args, 30),
            () => `message from ${sender} in ${roomId}`,
        );
        item.consumed = true;
        return describeMessage(item);
    },

    /**
     * {user_id}
     * How this member trusts user_id's cross-signing identity. ->
     * {is_verified, cross_signing_verified, was_cross_signing_verified,
     *  needs_user_approval, has_cross_signing_keys}
     */
    async user_verification_status(args) {
        const crypto = requireClient().getCrypto();
        const userId = required(args, "user_id");
        // Make sure the user's keys are downloaded first, or the answer is
        // "unknown user" rather than the real status.
        const hasKeys = await crypto.userHasCrossSigningKeys(userId, true);
        const status = await crypto.getUserVerificationStatus(userId);
        return {
            user_id: userId,
            has_cross_signing_keys: hasKeys,
            is_verified: status.isVerified(),
            cross_signing_verified: status.isCrossSigningVerified(),
            was_cross_signing_verified: status.wasCrossSigningVerified(),
            needs_user_approval: status.needsUserApproval,
        };
    },

    /**
     * {user_id, timeout?: 30}
     * Waits until user_id's identity is cross-signing verified by us. After a
     * SAS the signature of their master key is uploaded and only counts once
     * the keys are re-downloaded, which takes a sync or two.
     * -> same as user_verification_status
     */
    async wait_user_verified(args) {
        const crypto = requireClient().getCrypto();
        const userId = required(args, "user_id");
        await waitFor(
            async () => (await crypto.getUserVerificationStatus(userId)).isCrossSigningVerified(),
            timeoutMs(args, 30),
            () => `${userId} cross-signing verified`,
        );
        return COMMANDS.user_verification_status({ user_id: userId });
    },

    /**
     * {user_id}
     * user_id's devices as this member sees them (keys freshly downloaded). ->
     * {devices: [{device_id, display_name, verified, keys, algorithms,
     *   signed_by_owner, cross_signing_verified, locally_verified, is_verified}]}
     */
    async device_info(args) {
        const crypto = requireClient().getCrypto();
        const userId = required(args, "user_id");
        const map = await crypto.getUserDeviceInfo([userId], true);
        const devices = [];
        for (const device of map.get(userId)?.values() ?? []) {
            const status = await crypto.getDeviceVerificationStatus(userId, device.deviceId);
            devices.push({
                device_id: device.deviceId,
                display_name: device.displayName ?? null,
                verified: enumName(DeviceVerification, device.verified),
                keys: Object.fromEntries(device.keys),
                algorithms: device.algorithms,
                signed_by_owner: status?.signedByOwner ?? false,
                cross_signing_verified: status?.crossSigningVerified ?? false,
                locally_verified: status?.localVerified ?? false,
                is_verified: status?.isVerified() ?? false,
            });
        }
        return { user_id: userId, devices };
    },

    /** {user_id}: accept user_id's changed identity (Element's "OK" on the warning). */
    async pin_identity(args) {
        await requireClient().getCrypto().pinCurrentUserIdentity(required(args, "user_id"));
        return {};
    },

    /** {} -> {events: [{type, sender}]}: every to-device event received so far. */
    async to_device_log() {
        return { events: toDeviceLog };
    },

    // --- interactive verification (SAS / emoji), as Element does it ---------------
    //
    // Initiator: verify_request -> verify_start_sas (waits for "ready", starts
    //   SAS, returns the emoji) -> compare -> verify_confirm.
    // Responder: verify_wait_incoming -> verify_accept -> verify_wait_sas
    //   (returns the emoji once the other side started) -> verify_confirm.

    /**
     * {user_id, room_id?, device_id?}
     * room_id: in-room request (DM, as Element does for other users);
     * device_id: to-device request to that device; neither: to-device
     * request to all of user_id's devices (own user only).
     * -> verification description (see verify_status)
     */
    async verify_request(args) {
        const crypto = requireClient().getCrypto();
        const userId = required(args, "user_id");
        let request;
        if (args.room_id) request = await crypto.requestVerificationDM(userId, args.room_id);
        else if (args.device_id) request = await crypto.requestDeviceVerification(userId, args.device_id);
        else if (userId === client.getUserId()) request = await crypto.requestOwnUserVerification();
        else throw new CommandError("give room_id or device_id to verify another user", "bad_request");
        const handle = registerVerification(request);
        return describeVerification(handle, verifications.get(handle));
    },

    /** {from?: user_id, timeout?: 30}: next incoming request not reported before. */
    async verify_wait_incoming(args) {
        requireClient();
        const from = args.from ?? null;
        const handle = await waitFor(
            () => {
                const index = incomingVerifications.findIndex(
                    (h) => !from || verifications.get(h).request.otherUserId === from,
                );
                return index < 0 ? null : incomingVerifications.splice(index, 1)[0];
            },
            timeoutMs(args, 30),
            () => `verification request${from ? ` from ${from}` : ""}`,
        );
        return describeVerification(handle, verifications.get(handle));
    },

    /** {verification}: send m.key.verification.ready. */
    async verify_accept(args) {
        const entry = getVerification(args);
        await entry.request.accept();
        return describeVerification(args.verification, entry);
    },

    /**
     * {verification, timeout?: 30}
     * Waits for the request to be ready, starts SAS (m.sas.v1) and waits for
     * the short authentication string, which needs the other side to accept
     * the start (with another js member: run its verify_wait_sas concurrently).
     * -> {..., emoji: [{emoji, name}], decimal}
     */
    async verify_start_sas(args) {
        const entry = getVerification(args);
        const ms = timeoutMs(args, 30);
        await waitFor(
            () => checkNotCancelled(entry) && entry.request.phase === VerificationPhase.Ready,
            ms,
            () => `verification ${args.verification} ready (phase ${enumName(VerificationPhase, entry.request.phase)})`,
        );
        runVerifier(entry, await entry.request.startVerification("m.sas.v1"));
        await waitFor(() => checkNotCancelled(entry) && entry.sas, ms, () => "SAS shown");
        return sasResult(args.verification, entry);
    },

    /**
     * {verification, timeout?: 30}
     * For the side that did not start SAS: waits for the other side's start,
     * accepts it and waits for the short authentication string.
     */
    async verify_wait_sas(args) {
        const entry = getVerification(args);
        const ms = timeoutMs(args, 30);
        await waitFor(
            () => {
                checkNotCancelled(entry);
                if (entry.request.verifier) runVerifier(entry, entry.request.verifier);
                return entry.sas;
            },
            ms,
            () => `SAS for ${args.verification} (phase ${enumName(VerificationPhase, entry.request.phase)})`,
        );
        return sasResult(args.verification, entry);
    },

    /**
     * {verification, timeout?: 30}
     * "They match": sends our MAC and waits until the verification is done
     * (the other side's MAC checked, m.key.verification.done exchanged).
     */
    async verify_confirm(args) {
        const entry = getVerification(args);
        if (!entry.sas) throw new CommandError("no SAS shown yet", "bad_request");
        await entry.sas.confirm();
        await waitFor(
            () => checkNotCancelled(entry) && entry.request.phase === VerificationPhase.Done,
            timeoutMs(args, 30),
            () => `verification ${args.verification} done (phase ${enumName(VerificationPhase, entry.request.phase)})`,
        );
        return describeVerification(args.verification, entry);
    },

    /** {verification}: "they don't match" (cancels with m.mismatched_sas). */
    async verify_mismatch(args) {
        const entry = getVerification(args);
        if (!entry.sas) throw new CommandError("no SAS shown yet", "bad_request");
        entry.sas.mismatch();
        return describeVerification(args.verification, entry);
    },

    /** {verification, code?, reason?}: cancel the request. */
    async verify_cancel(args) {
        const entry = getVerification(args);
        const params = {};
        if (args.code) params.code = args.code;
        if (args.reason) params.reason = args.reason;
        await entry.request.cancel(params);
        return describeVerification(args.verification, entry);
    },

    /**
     * {verification} -> {verification, transaction_id, room_id, other_user_id,
     *   other_device_id, initiated_by_me, phase, chosen_method,
     *   cancellation_code, cancelling_user_id, verify_error}
     */
    async verify_status(args) {
        return describeVerification(args.verification, getVerification(args));
    },

    /** {} : stops syncing and exits after answering. */
    async stop() {
        setImmediate(shutdown);
        return {};
    },
};

function checkNotCancelled(entry) {
    if (entry.request.phase === VerificationPhase.Cancelled) {
        throw new CommandError(
            `verification cancelled: ${entry.request.cancellationCode} by ${entry.request.cancellingUserId}`,
            "cancelled",
        );
    }
    return true;
}

// --- protocol loop -----------------------------------------------------------------

function respond(message) {
    process.stdout.write(JSON.stringify(message) + "\n");
}

async function handle(line) {
    let request;
    try {
        request = JSON.parse(line);
    } catch {
        respond({ id: null, ok: false, error: `not JSON: ${line.slice(0, 200)}`, code: "bad_request" });
        return;
    }
    const { id = null, cmd, ...args } = request;
    const command = Object.hasOwn(COMMANDS, cmd) ? COMMANDS[cmd] : null;
    if (!command) {
        respond({ id, ok: false, error: `unknown command '${cmd}'`, code: "bad_request" });
        return;
    }
    try {
        const result = await command(args);
        respond({ id, ok: true, result: result ?? {} });
    } catch (e) {
        // Matrix errors carry errcode/httpStatus; keep them for the test.
        const code = e?.code ?? e?.errcode ?? "error";
        // Expected failures (timeouts, bad requests) need no stack trace.
        log(`${cmd} failed:`, e instanceof CommandError ? e.message : e);
        respond({ id, ok: false, error: String(e?.message ?? e), code: String(code) });
    }
}

let stopping = false;
function shutdown() {
    if (stopping) return;
    stopping = true;
    try {
        client?.stopClient();
    } catch (e) {
        log("stopClient failed:", e);
    }
    // The wasm crypto machine and pending HTTP requests may keep the event loop
    // alive; nothing needs flushing (in-memory store), so exit explicitly once
    // stdout has drained.
    process.stdout.write("", () => process.exit(0));
}

// Stdin closing (the test process went away) also ends the member, so no
// orphan Node processes are left behind.
const lines = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
lines.on("line", (line) => {
    if (line.trim()) handle(line);
});
lines.on("close", shutdown);
process.on("unhandledRejection", (e) => log("unhandled rejection:", e));
log(`started (node ${process.version}, matrix-js-sdk ready)`);

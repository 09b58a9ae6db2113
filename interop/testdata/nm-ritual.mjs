// nm-ritual.mjs: node-metaverse, a real third-party client, performs the
// whole ritual against a Ritual grid and reports what it saw.
//
//   node nm-ritual.mjs LOGIN_URI FIRST LAST PASSWORD [FIRST LAST PASSWORD ...]
//
// Each account is one bot; all bots run at once. A bot logs in, connects to
// the region (node-metaverse's connectToSim), waits until it has the whole
// terrain and at least one prim, holds until every bot has got that far (so
// that with several accounts all of them are in the region together), then
// logs out. Raw messages are observed on the bot's circuit.
//
// Output: exactly one JSON line on stdout,
//   {"ok", "elapsedMs", "together" (several bots: all were in the region at
//    once), "bots": [...], "decodeWarnings", "errors"}
// with per bot: ok, step (where it stopped), loggedIn, loginError {reason,
// message}, agentID, connected (connectToSim resolved), regionHandshake,
// regionName, agentMovementComplete, position, primUpdates (ObjectUpdate
// blocks with PCode 9), ownAvatar (an ObjectUpdate with PCode 47 for the bot
// itself), otherAvatars, layerDataPackets (land), windPackets, patches
// (16x16 land patches that node-metaverse's own terrain store holds
// completely), terrainComplete, heightMin/heightMax, regionReady
// (node-metaverse's region setup finished: waitForHandshake), logoutReply,
// closed (close() resolved), disconnect, resends (node-metaverse's
// retransmissions: on loopback, acknowledgements it missed), timings (ms
// since the start of each milestone), errors. decodeWarnings collects
// node-metaverse's complaints about packets it decoded with bytes left over.
// Everything node-metaverse prints goes to stderr (console lines prefixed
// with the milliseconds since the start). Exit status 0 when every bot
// completed the ritual, 1 otherwise (a refused login too), 2 for bad usage.
//
// Environment: RITUAL_NM_TIMEOUT_MS bounds the whole run (default 60000);
// RITUAL_NM_WAIT_MS bounds each wait for world data (default 20000).

import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const nmv = require('@caspertech/node-metaverse');
const { Message } = require('@caspertech/node-metaverse/dist/lib/enums/Message.js');

const { Bot, LoginParameters, BotOptionFlags, PCode, LayerType } = nmv;

const t0 = Date.now();
const since = () => Date.now() - t0;

// node-metaverse prints to the console and, through its logger, straight to
// stdout; keep stdout for the one result line and send all else to stderr.
const decodeWarnings = [];
const writeResult = process.stdout.write.bind(process.stdout);
process.stdout.write = (chunk, encoding, cb) => process.stderr.write(chunk, encoding, cb);
for (const level of ['log', 'info', 'warn', 'error', 'debug']) {
    console[level] = (...args) => {
        const text = args.map((a) => (a instanceof Error ? (a.stack ?? String(a)) : typeof a === 'string' ? a : safeJSON(a))).join(' ');
        if (text.startsWith('WARNING: Finished reading')) {
            decodeWarnings.push(text.slice('WARNING: '.length));
        }
        process.stderr.write(`[nm +${since()}ms] ${text}\n`);
    };
}

function safeJSON(v) {
    try {
        return JSON.stringify(v);
    } catch {
        return String(v);
    }
}

const globalErrors = [];
process.on('unhandledRejection', (reason) => {
    globalErrors.push(`unhandled rejection: ${reason instanceof Error ? reason.message : String(reason)}`);
    console.error('unhandled rejection:', reason);
});
process.on('uncaughtException', (err) => {
    globalErrors.push(`uncaught exception: ${err.message}`);
    console.error('uncaught exception:', err);
});

const args = process.argv.slice(2);
if (args.length < 4 || (args.length - 1) % 3 !== 0) {
    process.stderr.write('usage: node nm-ritual.mjs LOGIN_URI FIRST LAST PASSWORD [FIRST LAST PASSWORD ...]\n');
    process.exit(2);
}
const loginURI = args[0];
const accounts = [];
for (let i = 1; i < args.length; i += 3) {
    accounts.push({ first: args[i], last: args[i + 1], password: args[i + 2] });
}
const totalTimeout = positiveInt(process.env.RITUAL_NM_TIMEOUT_MS, 60000);
const waitTimeout = positiveInt(process.env.RITUAL_NM_WAIT_MS, 20000);

function positiveInt(s, def) {
    const n = Number.parseInt(s ?? '', 10);
    return Number.isFinite(n) && n > 0 ? n : def;
}

let finished = false;
function finish(results) {
    if (finished) {
        return;
    }
    finished = true;
    const ok = results.every((r) => r.ok) && globalErrors.length === 0;
    const out = {
        ok,
        elapsedMs: since(),
        together: results.length > 1 ? results.every((r) => r.togetherAt !== undefined) : undefined,
        bots: results.map(({ togetherAt: _t, done: _d, atBarrier: _b, ...rest }) => rest),
        decodeWarnings,
        errors: globalErrors
    };
    writeResult(JSON.stringify(out) + '\n', () => process.exit(ok ? 0 : 1));
}

// A barrier: every bot that gets its world waits here for the others, so
// that several bots are in the region at once before any logs out.
let arrived = 0;
let failedBots = 0;
let releaseAll;
const allArrived = new Promise((resolve) => {
    releaseAll = resolve;
});
function checkBarrier() {
    if (arrived + failedBots >= accounts.length) {
        releaseAll();
    }
}

const results = accounts.map((a) => newResult(a));
const deadline = setTimeout(() => {
    for (const r of results) {
        if (!r.done) {
            r.errors.push(`deadline of ${totalTimeout} ms passed while ${r.step}`);
        }
    }
    finish(results);
}, totalTimeout);

Promise.all(accounts.map((a, i) => runBotSafely(a, results[i]))).then(() => {
    clearTimeout(deadline);
    finish(results);
});

// runBotSafely turns anything unexpected into an error of that bot, and
// keeps it from holding the others at the barrier.
async function runBotSafely(a, r) {
    try {
        await runBot(a, r);
    } catch (err) {
        r.errors.push(`unexpected failure while ${r.step}: ${err instanceof Error ? err.message : String(err)}`);
        r.ok = false;
        if (!r.atBarrier) {
            r.atBarrier = true;
            failedBots++;
            checkBarrier();
        }
        r.done = true;
    }
}

function newResult(a) {
    return {
        name: `${a.first} ${a.last}`,
        ok: false,
        step: 'starting',
        loggedIn: false,
        connected: false,
        regionHandshake: false,
        agentMovementComplete: false,
        primUpdates: 0,
        ownAvatar: false,
        regionReady: false,
        otherAvatars: 0,
        layerDataPackets: 0,
        windPackets: 0,
        patches: 0,
        terrainComplete: false,
        logoutReply: false,
        closed: false,
        resends: [],
        timings: {},
        errors: []
    };
}

function mark(r, what) {
    if (r.timings[what] === undefined) {
        r.timings[what] = since();
    }
}

function sleep(ms) {
    return new Promise((resolve) => setTimeout(resolve, ms));
}

// waitUntil polls cond every 25 ms until it holds or ms pass.
async function waitUntil(cond, ms) {
    const end = Date.now() + ms;
    while (!cond()) {
        if (Date.now() >= end) {
            return false;
        }
        await sleep(25);
    }
    return true;
}

// countPatches reads node-metaverse's own terrain store (filled by its
// LayerData decoder): a 16x16 patch counts when every point has a finite
// height. It also returns the height range seen.
function countPatches(region, r) {
    const terrain = region.terrain;
    if (!Array.isArray(terrain) || terrain.length !== 256) {
        return 0;
    }
    let patches = 0;
    let min = Infinity;
    let max = -Infinity;
    for (let py = 0; py < 16; py++) {
        for (let px = 0; px < 16; px++) {
            let full = true;
            for (let y = py * 16; y < py * 16 + 16 && full; y++) {
                for (let x = px * 16; x < px * 16 + 16; x++) {
                    const h = terrain[y][x];
                    if (h === -1 || typeof h !== 'number' || !Number.isFinite(h)) {
                        full = false;
                        break;
                    }
                    if (h < min) {
                        min = h;
                    }
                    if (h > max) {
                        max = h;
                    }
                }
            }
            if (full) {
                patches++;
            }
        }
    }
    if (patches > 0) {
        r.heightMin = Math.round(min * 100) / 100;
        r.heightMax = Math.round(max * 100) / 100;
    }
    return patches;
}

async function runBot(a, r) {
    const params = new LoginParameters();
    params.url = loginURI;
    params.firstName = a.first;
    params.lastName = a.last;
    params.password = a.password;
    params.start = 'last';

    const bot = new Bot(params, BotOptionFlags.LiteObjectStore);
    bot.clientEvents.onDisconnected.subscribe((ev) => {
        r.disconnect = { requested: ev.requested, message: ev.message };
        mark(r, 'disconnected');
    });
    // The region's ParcelProperties, as node-metaverse's event queue client
    // parsed it.
    bot.clientEvents.onParcelPropertiesEvent.subscribe((ev) => {
        r.parcel = {
            localID: ev.LocalID, name: ev.Name, area: ev.Area, flags: ev.ParcelFlags,
            bitmapBytes: ev.Bitmap ? ev.Bitmap.length : 0, maxPrims: ev.MaxPrims
        };
        mark(r, 'parcelProperties');
    });

    r.step = 'logging in';
    mark(r, 'loginStart');
    let agentID;
    try {
        const resp = await bot.login();
        r.loggedIn = true;
        mark(r, 'loggedIn');
        agentID = bot.agentID().toString();
        r.agentID = agentID;
        r.circuitCode = resp.region.circuit.circuitCode;
    } catch (err) {
        r.step = 'login refused';
        if (err && err.reason !== undefined) {
            r.loginError = { reason: err.reason, message: err.message };
        } else {
            r.errors.push(`login: ${err instanceof Error ? err.message : String(err)}`);
        }
        r.atBarrier = true;
        failedBots++;
        checkBarrier();
        r.done = true;
        return;
    }

    const region = bot.currentRegion;
    const circuit = region.circuit;
    // Count node-metaverse's retransmissions: on loopback each one means an
    // acknowledgement it expected did not reach it (or was not understood).
    const resend = circuit.resend;
    if (typeof resend === 'function') {
        circuit.resend = function (seq) {
            const waiting = this.awaitingAck.get(seq);
            if (waiting !== undefined) {
                r.resends.push({ seq, message: waiting.packet.message.name, atMs: since() });
            }
            return resend.call(this, seq);
        };
    }
    const sub = circuit.subscribeToMessages([
        Message.RegionHandshake,
        Message.AgentMovementComplete,
        Message.ObjectUpdate,
        Message.LayerData,
        Message.LogoutReply
    ], (packet) => {
        const m = packet.message;
        switch (m.id) {
            case Message.RegionHandshake:
                r.regionHandshake = true;
                r.regionName = Buffer.from(m.RegionInfo.SimName).toString('utf8').replace(/\0+$/, '');
                mark(r, 'regionHandshake');
                break;
            case Message.AgentMovementComplete:
                r.agentMovementComplete = true;
                r.position = [m.Data.Position.x, m.Data.Position.y, m.Data.Position.z];
                mark(r, 'agentMovementComplete');
                break;
            case Message.ObjectUpdate:
                for (const od of m.ObjectData) {
                    if (od.PCode === PCode.Prim) {
                        r.primUpdates++;
                        mark(r, 'firstPrim');
                    } else if (od.PCode === PCode.Avatar) {
                        if (od.FullID.toString() === agentID) {
                            r.ownAvatar = true;
                            mark(r, 'ownAvatar');
                        } else {
                            r.otherAvatars++;
                        }
                    }
                }
                break;
            case Message.LayerData:
                if (m.LayerID.Type === LayerType.Land) {
                    r.layerDataPackets++;
                    mark(r, 'firstLayerData');
                } else if (m.LayerID.Type === LayerType.Wind) {
                    r.windPackets++;
                }
                break;
            case Message.LogoutReply:
                r.logoutReply = true;
                mark(r, 'logoutReply');
                break;
            default:
                break;
        }
    });

    let inRegion = false;
    try {
        r.step = 'connecting (connectToSim)';
        await bot.connectToSim();
        r.connected = true;
        inRegion = true;
        mark(r, 'connected');

        r.step = 'waiting for the whole terrain';
        const gotTerrain = await waitUntil(() => region.terrainComplete === true, waitTimeout);
        r.terrainComplete = region.terrainComplete === true;
        r.patches = countPatches(region, r);
        if (gotTerrain) {
            mark(r, 'terrainComplete');
        } else {
            r.errors.push(`terrain incomplete after ${waitTimeout} ms: ${r.patches} of 256 patches, ${r.layerDataPackets} land LayerData packets`);
        }

        r.step = 'waiting for a prim';
        if (!(await waitUntil(() => r.primUpdates > 0, waitTimeout))) {
            r.errors.push(`no prim ObjectUpdate (PCode 9) within ${waitTimeout} ms`);
        }
        r.objectStoreCount = region.objects.getNumberOfObjects();

        // node-metaverse finishes its own region setup in the background
        // (Region.handshake: RequestRegionInfo -> RegionInfo, MapNameRequest
        // -> MapBlockReply, the seed capability, ExtEnvironment); bots
        // await it through clientCommands.region.waitForHandshake().
        r.step = 'waiting for node-metaverse region setup (RegionInfo, MapBlockReply)';
        try {
            await bot.clientCommands.region.waitForHandshake(waitTimeout);
            r.regionReady = true;
            mark(r, 'regionReady');
        } catch (err) {
            r.regionReady = false;
            r.errors.push(`region setup (waitForHandshake) not finished within ${waitTimeout} ms: ${err instanceof Error ? err.message : String(err)}`);
        }
        // The event queue's first delivery; the test judges whether it came.
        r.step = 'waiting for ParcelProperties (event queue)';
        await waitUntil(() => r.parcel !== undefined, waitTimeout);
    } catch (err) {
        r.errors.push(`${r.step}: ${err instanceof Error ? err.message : String(err)}`);
    }

    r.step = 'waiting for the other bots';
    r.atBarrier = true;
    if (inRegion) {
        arrived++;
    } else {
        failedBots++;
    }
    checkBarrier();
    await allArrived;
    if (inRegion && arrived === accounts.length) {
        r.togetherAt = since();
        r.timings.together = r.togetherAt;
    }

    if (inRegion) {
        r.step = 'logging out (close)';
        mark(r, 'logoutStart');
        try {
            await bot.close();
            r.closed = true;
            mark(r, 'closed');
        } catch (err) {
            r.errors.push(`logout: ${err instanceof Error ? err.message : String(err)}`);
            try {
                region.shutdown();
            } catch {
                // the circuit may already be gone
            }
        }
    } else {
        try {
            region.shutdown();
        } catch {
            // the circuit may not have been opened
        }
    }
    sub.unsubscribe();
    r.step = 'done';
    r.done = true;
    r.ok = r.loggedIn && r.connected && r.regionHandshake && r.agentMovementComplete &&
        r.primUpdates > 0 && r.patches === 256 && r.regionReady && r.logoutReply && r.closed && r.errors.length === 0;
}

// nm-teleport.mjs: a node-metaverse bot teleports from one Ritual region to
// another.
//
//   node nm-teleport.mjs LOGIN_URI PASSWORD FIRST LAST FROM_REGION TO_REGION
//
// The bot logs in to FROM_REGION (start uri:FROM_REGION&128&128&25),
// connects and waits for its region setup (RegionHandshake, RegionInfo,
// the map block naming the region). It then teleports with node-metaverse's
// own command, clientCommands.teleport.teleportTo(TO_REGION, ...): a map
// search by name (MapNameRequest → MapBlockReply), TeleportLocationRequest,
// TeleportStart and TeleportProgress on the circuit, TeleportFinish on the
// event queue, and node-metaverse's change of region: a new circuit to the
// destination (UseCircuitCode, CompleteAgentMovement, RegionHandshake,
// RegionHandshakeReply) and the destination's region setup. It must arrive
// in TO_REGION: AgentMovementComplete on the new circuit, a handshake
// naming TO_REGION and a map block placing it. It logs out there.
//
// Output: one JSON line on stdout with what each step saw; exit status 0
// when every step succeeded, 1 otherwise, 2 for bad usage. Everything
// node-metaverse prints goes to stderr. RITUAL_NM_TIMEOUT_MS bounds the
// run (default 60000); RITUAL_NM_WAIT_MS each wait (default 15000).

import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const nmv = require('@caspertech/node-metaverse');
const { Message } = require('@caspertech/node-metaverse/dist/lib/enums/Message.js');
const { TeleportEventType } = require('@caspertech/node-metaverse/dist/lib/enums/TeleportEventType.js');

const { Bot, LoginParameters, BotOptionFlags, Vector3 } = nmv;

const t0 = Date.now();
const since = () => Date.now() - t0;
const writeResult = process.stdout.write.bind(process.stdout);
process.stdout.write = (chunk, encoding, cb) => process.stderr.write(chunk, encoding, cb);
for (const level of ['log', 'info', 'warn', 'error', 'debug']) {
    console[level] = (...args) => {
        process.stderr.write(`[nm +${since()}ms] ${args.map((a) => (a instanceof Error ? a.stack : typeof a === 'string' ? a : String(a))).join(' ')}\n`);
    };
}

const args = process.argv.slice(2);
if (args.length !== 6) {
    process.stderr.write('usage: node nm-teleport.mjs LOGIN_URI PASSWORD FIRST LAST FROM_REGION TO_REGION\n');
    process.exit(2);
}
const [loginURI, password, first, last, fromRegion, toRegion] = args;
const positiveInt = (s, def) => {
    const n = Number.parseInt(s ?? '', 10);
    return Number.isFinite(n) && n > 0 ? n : def;
};
const totalTimeout = positiveInt(process.env.RITUAL_NM_TIMEOUT_MS, 60000);
const waitTimeout = positiveInt(process.env.RITUAL_NM_WAIT_MS, 15000);

const out = { ok: false, step: 'starting', elapsedMs: 0, errors: [], teleportEvents: [], circuits: [] };
let finished = false;
function finish() {
    if (finished) {
        return;
    }
    finished = true;
    out.elapsedMs = since();
    out.ok = out.errors.length === 0 && out.step === 'done';
    writeResult(JSON.stringify(out) + '\n', () => process.exit(out.ok ? 0 : 1));
}
// A rejection node-metaverse leaves unhandled is an error, except the 404
// an event-queue poll gets once the region has revoked the capabilities it
// polls (the departed region's after the teleport, the last region's after
// the logout): recorded, not failed.
out.rejections = [];
process.on('unhandledRejection', (r) => {
    const msg = r instanceof Error ? r.message : String(r);
    if (/404/.test(msg) && (out.teleported || out.step === 'logging out' || out.step === 'done')) {
        out.rejections.push(`${msg} (at ${out.step})`);
        return;
    }
    out.errors.push(`unhandled rejection: ${msg} (at ${out.step})`);
});
setTimeout(() => {
    out.errors.push(`deadline of ${totalTimeout} ms passed while ${out.step}`);
    finish();
}, totalTimeout).unref();

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
async function waitUntil(cond, what) {
    const end = Date.now() + waitTimeout;
    while (!cond()) {
        if (Date.now() >= end) {
            throw new Error(`${what}: not within ${waitTimeout} ms`);
        }
        await sleep(25);
    }
}
const text = (b) => Buffer.from(b).toString('utf8').replace(/\0+$/, '');

// follow records what one circuit receives of the arrival: its handshake,
// AgentMovementComplete, and the ordering of the two.
function follow(circuit, label) {
    const c = { label, address: `${circuit.ipAddress}:${circuit.port}`, received: [] };
    out.circuits.push(c);
    circuit.subscribeToMessages([Message.RegionHandshake, Message.AgentMovementComplete, Message.RegionInfo, Message.TeleportStart, Message.TeleportProgress, Message.TeleportFailed, Message.TeleportLocal], (packet) => {
        const m = packet.message;
        c.received.push({ message: Message[m.id], atMs: since() });
        switch (m.id) {
            case Message.RegionHandshake:
                c.handshakeName = text(m.RegionInfo.SimName);
                break;
            case Message.AgentMovementComplete:
                c.movementComplete = {
                    position: [m.Data.Position.x, m.Data.Position.y, m.Data.Position.z],
                    regionHandle: m.Data.RegionHandle.toString(),
                };
                break;
            default:
                break;
        }
    });
    return c;
}

async function main() {
    const params = new LoginParameters();
    params.url = loginURI;
    params.firstName = first;
    params.lastName = last;
    params.password = password;
    params.start = `uri:${fromRegion}&128&128&25`;
    const bot = new Bot(params, BotOptionFlags.LiteObjectStore);

    bot.clientEvents.onTeleportEvent.subscribe((e) => {
        out.teleportEvents.push({ type: TeleportEventType[e.eventType], message: e.message, simIP: e.simIP, simPort: e.simPort, seed: e.seedCapability ? 'yes' : '', atMs: since() });
    });
    // node-metaverse makes the destination's Region and hands it to
    // changeRegion, which connects to it: follow its circuit from the start.
    const changeRegion = bot.changeRegion.bind(bot);
    let dest = null;
    bot.changeRegion = (region, requested) => {
        dest = follow(region.circuit, 'destination');
        return changeRegion(region, requested);
    };

    out.step = 'logging in';
    await bot.login();
    const from = follow(bot.currentRegion.circuit, 'origin');
    out.step = 'connecting to the first region';
    await bot.connectToSim();
    await bot.clientCommands.region.waitForHandshake(waitTimeout);
    await waitUntil(() => from.movementComplete !== undefined, 'AgentMovementComplete in the first region');
    out.before = { regionName: bot.currentRegion.regionName, x: bot.currentRegion.xCoordinate, y: bot.currentRegion.yCoordinate };

    out.step = `teleporting to ${toRegion}`;
    const started = Date.now();
    const ev = await bot.clientCommands.teleport.teleportTo(toRegion, new Vector3([100, 120, 30]), new Vector3([1, 0, 0]));
    out.teleported = { tookMs: Date.now() - started, simIP: ev.simIP, simPort: ev.simPort };

    out.step = `arriving in ${toRegion}`;
    if (dest === null) {
        throw new Error('node-metaverse did not change region');
    }
    await bot.clientCommands.region.waitForHandshake(waitTimeout);
    await waitUntil(() => dest.movementComplete !== undefined, `AgentMovementComplete in ${toRegion}`);
    out.after = { regionName: bot.currentRegion.regionName, x: bot.currentRegion.xCoordinate, y: bot.currentRegion.yCoordinate, circuit: `${bot.currentRegion.circuit.ipAddress}:${bot.currentRegion.circuit.port}` };

    out.step = 'logging out';
    await bot.close();
    out.loggedOut = true;
    out.step = 'done';
}

main().catch((err) => {
    out.errors.push(`${out.step}: ${err instanceof Error ? err.message : String(err)}`);
}).finally(finish);

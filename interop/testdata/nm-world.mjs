// nm-world.mjs: two node-metaverse bots share a Ritual region, and a third
// account receives a message left while it was away.
//
//   node nm-world.mjs LOGIN_URI PASSWORD A_FIRST A_LAST B_FIRST B_LAST C_FIRST C_LAST C_AGENT_ID
//
// A and B log in and connect. Each waits to see the other's avatar
// (ObjectUpdate, PCode 47). A says a line; B must hear it (ChatFromSimulator
// through node-metaverse's onNearbyChat) with A's name and a position. A
// walks east for two seconds (AgentUpdate with AGENT_CONTROL_AT_POS); B
// must see A's avatar move (ImprovedTerseObjectUpdate). A sends B an
// instant message, then one to C, who is not logged in, and must get the
// region's reply from C. A logs out; B must see A's avatar go (KillObject).
// C logs in and must receive the message left for it, marked offline.
//
// Output: one JSON line on stdout with what each step saw; exit status 0
// when every step succeeded, 1 otherwise, 2 for bad usage. Everything
// node-metaverse prints goes to stderr. RITUAL_NM_TIMEOUT_MS bounds the
// run (default 60000); RITUAL_NM_WAIT_MS each wait (default 15000).

import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const nmv = require('@caspertech/node-metaverse');
const { Message } = require('@caspertech/node-metaverse/dist/lib/enums/Message.js');
const { AgentUpdateMessage } = require('@caspertech/node-metaverse/dist/lib/classes/messages/AgentUpdate.js');

const { Bot, LoginParameters, BotOptionFlags, PCode } = nmv;

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
if (args.length !== 9) {
    process.stderr.write('usage: node nm-world.mjs LOGIN_URI PASSWORD A_FIRST A_LAST B_FIRST B_LAST C_FIRST C_LAST C_AGENT_ID\n');
    process.exit(2);
}
const [loginURI, password, aFirst, aLast, bFirst, bLast, cFirst, cLast, cAgentID] = args;
const positiveInt = (s, def) => {
    const n = Number.parseInt(s ?? '', 10);
    return Number.isFinite(n) && n > 0 ? n : def;
};
const totalTimeout = positiveInt(process.env.RITUAL_NM_TIMEOUT_MS, 60000);
const waitTimeout = positiveInt(process.env.RITUAL_NM_WAIT_MS, 15000);

const out = { ok: false, step: 'starting', elapsedMs: 0, errors: [] };
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
// its event-queue poll gets once its bot has logged out (the region has
// revoked that bot's capabilities): recorded, not failed.
out.rejections = [];
let loggedOut = 0;
process.on('unhandledRejection', (r) => {
    const msg = r instanceof Error ? r.message : String(r);
    if (loggedOut > 0 && /404/.test(msg)) {
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

// watch follows one bot's circuit and events.
function watch(bot) {
    const w = { avatars: new Map(), terse: new Map(), killed: new Set(), chat: [], ims: [] };
    bot.clientEvents.onNearbyChat.subscribe((ev) => {
        w.chat.push({ fromName: ev.fromName, from: ev.from.toString(), message: ev.message, position: [ev.position.x, ev.position.y, ev.position.z], type: ev.chatType });
    });
    bot.clientEvents.onInstantMessage.subscribe((ev) => {
        w.ims.push({ fromName: ev.fromName, from: ev.from.toString(), message: ev.message });
    });
    w.subscribe = (circuit) => circuit.subscribeToMessages([Message.ObjectUpdate, Message.ImprovedTerseObjectUpdate, Message.KillObject, Message.ImprovedInstantMessage], (packet) => {
        const m = packet.message;
        switch (m.id) {
            case Message.ObjectUpdate:
                for (const od of m.ObjectData) {
                    if (od.PCode === PCode.Avatar) {
                        w.avatars.set(od.FullID.toString(), od.ID);
                    }
                }
                break;
            case Message.ImprovedTerseObjectUpdate:
                for (const od of m.ObjectData) {
                    const d = Buffer.from(od.Data);
                    if (d.length === 60 && d[5] !== 0) {
                        const id = d.readUInt32LE(0);
                        const p = [d.readFloatLE(22), d.readFloatLE(26), d.readFloatLE(30)];
                        if (!w.terse.has(id)) {
                            w.terse.set(id, []);
                        }
                        w.terse.get(id).push(p);
                    }
                }
                break;
            case Message.KillObject:
                for (const od of m.ObjectData) {
                    w.killed.add(od.ID);
                }
                break;
            case Message.ImprovedInstantMessage:
                w.rawIMs = w.rawIMs ?? [];
                w.rawIMs.push({ offline: m.MessageBlock.Offline, message: text(m.MessageBlock.Message), fromName: text(m.MessageBlock.FromAgentName) });
                break;
            default:
                break;
        }
    });
    return w;
}

async function arrive(first, last) {
    const params = new LoginParameters();
    params.url = loginURI;
    params.firstName = first;
    params.lastName = last;
    params.password = password;
    params.start = 'last';
    const bot = new Bot(params, BotOptionFlags.LiteObjectStore);
    const w = watch(bot);
    await bot.login();
    w.subscribe(bot.currentRegion.circuit);
    await bot.connectToSim();
    await bot.clientCommands.region.waitForHandshake(waitTimeout);
    return { bot, w, id: bot.agentID().toString() };
}

async function main() {
    out.step = 'A and B arrive';
    const a = await arrive(aFirst, aLast);
    const b = await arrive(bFirst, bLast);

    out.step = 'A and B see each other';
    await waitUntil(() => a.w.avatars.has(b.id) && b.w.avatars.has(a.id), 'each sees the other');
    out.seeEachOther = true;
    const aLocal = b.w.avatars.get(a.id);

    out.step = 'A says a line, B hears it';
    await a.bot.clientCommands.comms.say('hello from A');
    await waitUntil(() => b.w.chat.some((c) => c.message === 'hello from A'), 'B hears A');
    out.chatHeard = b.w.chat.find((c) => c.message === 'hello from A');

    out.step = 'A walks, B sees it move';
    const before = (b.w.terse.get(aLocal) ?? []).length;
    // node-metaverse clears its control flags when it is told of its own
    // animation (it answers with AGENT_CONTROL_FINISH_ANIM): set the flag
    // again before each update.
    for (let i = 0; i < 20; i++) {
        a.bot.agent.setControlFlag(1); // AGENT_CONTROL_AT_POS
        a.bot.agent.sendAgentUpdate();
        await sleep(100);
    }
    a.bot.agent.clearControlFlag(1);
    a.bot.agent.setControlFlag(1 << 14); // AGENT_CONTROL_STOP
    a.bot.agent.sendAgentUpdate();
    a.bot.agent.clearControlFlag(1 << 14);
    a.bot.agent.sendAgentUpdate();
    await waitUntil(() => {
        const ps = b.w.terse.get(aLocal) ?? [];
        return ps.length > before && ps[ps.length - 1][0] - (ps[before] ?? ps[0])[0] > 2;
    }, 'B sees A move east');
    const ps = b.w.terse.get(aLocal);
    out.moved = { updates: ps.length - before, from: ps[before], to: ps[ps.length - 1] };

    out.step = 'A sends B an instant message';
    await a.bot.clientCommands.comms.sendInstantMessage(b.id, 'an IM for B');
    await waitUntil(() => b.w.ims.some((m) => m.message === 'an IM for B'), 'B receives the IM');
    out.imOnline = b.w.ims.find((m) => m.message === 'an IM for B');

    out.step = 'A sends C (offline) an instant message';
    await a.bot.clientCommands.comms.sendInstantMessage(cAgentID, 'an IM for C, later');
    await waitUntil(() => a.w.ims.some((m) => m.from === cAgentID), 'A receives the offline reply');
    out.offlineReply = a.w.ims.find((m) => m.from === cAgentID);

    out.step = 'A logs out, B sees it go';
    await a.bot.close();
    loggedOut++;
    await waitUntil(() => b.w.killed.has(aLocal), 'B sees A leave');
    out.sawLeave = true;

    out.step = 'C logs in and receives the saved message';
    const c = await arrive(cFirst, cLast);
    await waitUntil(() => (c.w.rawIMs ?? []).some((m) => m.message === 'an IM for C, later'), 'C receives the saved IM');
    out.imOffline = c.w.rawIMs.find((m) => m.message === 'an IM for C, later');

    out.step = 'B and C log out';
    await b.bot.close();
    await c.bot.close();
    out.step = 'done';
}

main().catch((err) => {
    out.errors.push(`${out.step}: ${err instanceof Error ? err.message : String(err)}`);
}).finally(finish);

'use strict';
// Differential oracle for ritual/protocol/llsd: reads each document named on
// the command line with @caspertech/llsd (the LLSD library node-metaverse
// uses) and writes the library's own serialisation of what it read to
// <name>.out. Files ending in .xml are LLSD XML, files ending in .bin are
// headerless binary LLSD. Exits non-zero, naming the file, if the library
// cannot read one.
const fs = require('fs');
const { LLSD } = require('@caspertech/llsd');

for (const file of process.argv.slice(2)) {
    try {
        if (file.endsWith('.xml')) {
            const value = LLSD.parseXML(fs.readFileSync(file, 'utf8'));
            fs.writeFileSync(file + '.out', LLSD.formatXML(value), 'utf8');
        } else if (file.endsWith('.bin')) {
            const octets = Array.from(fs.readFileSync(file));
            const parsed = LLSD.parseBinary(octets);
            if (parsed.position !== octets.length) {
                throw new Error('read ' + parsed.position + ' of ' + octets.length + ' bytes');
            }
            fs.writeFileSync(file + '.out', Buffer.from(LLSD.formatBinary(parsed.result).toArray()));
        } else {
            throw new Error('unknown file kind');
        }
    } catch (e) {
        process.stderr.write(file + ': ' + (e && e.stack || e) + '\n');
        process.exit(1);
    }
}

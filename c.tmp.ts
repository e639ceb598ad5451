import { runConfigCheck } from './src/config/index.js';
process.exitCode = await runConfigCheck(process.argv[2]!);

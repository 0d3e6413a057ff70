#!/usr/bin/env node
// Sets the old generation's growth before anything else loads: loading the service's modules already runs full
// collections, and each sizes the old generation's next limit with the growth then in force (see heap-tuning.ts).
import { tuneHeapForDaemon } from './heap-tuning.js';

tuneHeapForDaemon();
await import('./program.js');

#!/usr/bin/env node
// Sizes V8's heap before anything else loads: loading the service's modules alone would grow the young
// generation to its largest, and it does not shrink back for a busy process (see heap-tuning.ts).
import { tuneHeapForDaemon } from './heap-tuning.js';

tuneHeapForDaemon();
await import('./program.js');

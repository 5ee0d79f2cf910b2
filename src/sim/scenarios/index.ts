// The report's scenarios: importing this module registers them (the CLI and the sim worker do).
import './single-tenant.js';
import './pooling.js';
import './ceiling.js';
import './peaks.js';
import './multi-model.js';
import './fast-slow.js';
import './azure.js';
import './real-world.js';
import './population.js';

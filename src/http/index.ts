export { PROBLEM_CONTENT_TYPE, type Problem, problemType } from './problem.js';
export { createServer, type ServerDeps } from './server.js';

export { type Agent, addAgent, authenticateAgent } from './agents.js';

export { freePort } from './free-port.js';
export { forbiddenAddress, outboundAgent, SSRF_REFUSED, urlProblem } from './ssrf.js';

export { forbiddenAddress, outboundAgent, SSRF_REFUSED, urlProblem } from './ssrf.js';

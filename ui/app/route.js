// Hash routes (#/tasks/<id>): the page is one static file and ids never reach the server's logs.

/** A segment decoded, or as typed when it is not valid percent-encoding. @param {string} s */
const decode = (s) => {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
};

/**
 * The route's segments, decoded. Never throws: a malformed link opens its page, which says what
 * it cannot find. parseRoute('#/tasks/abc') → ['tasks', 'abc']. @param {string} hash
 */
export const parseRoute = (hash) => hash.replace(/^#\/?/, '').split('/').map(decode);

// Render ```mermaid blocks as diagrams when mermaid can be loaded; otherwise (offline,
// e.g. the site opened from site/ on a laptop without network) leave them as readable
// code. No build step depends on this file: `mkdocs build --strict` works offline.
(function () {
  "use strict";
  var blocks = document.querySelectorAll("pre.mermaid");
  if (!blocks.length) {
    return;
  }
  function render(mermaid) {
    var nodes = [];
    blocks.forEach(function (pre) {
      var div = document.createElement("div");
      div.className = "mermaid";
      div.textContent = pre.textContent;
      pre.replaceWith(div);
      nodes.push(div);
    });
    mermaid.initialize({ startOnLoad: false, securityLevel: "strict" });
    mermaid.run({ nodes: nodes });
  }
  if (window.mermaid) {
    render(window.mermaid);
    return;
  }
  import("https://cdn.jsdelivr.net/npm/mermaid@11.4.1/dist/mermaid.esm.min.mjs")
    .then(function (module) { render(module.default); })
    .catch(function () { /* offline: the diagrams stay as code */ });
})();

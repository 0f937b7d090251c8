// Starts Swagger UI on /docs. A file rather than an inline script: the Content-Security-Policy
// lets scripts come from this site only. The OpenAPI URL is in the page's data-openapi-url.
(function () {
  "use strict";
  var root = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: root.getAttribute("data-openapi-url"),
    dom_id: "#swagger-ui",
    layout: "BaseLayout",
    docExpansion: "none", // tags open on a click: the whole API at once is more than Swagger UI draws
    deepLinking: true,
    showExtensions: true,
    showCommonExtensions: true,
    validatorUrl: null, // no calls to validator.swagger.io
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
  });
})();

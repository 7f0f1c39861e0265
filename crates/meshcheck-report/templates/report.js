// Filters for the findings: severity, category, namespace and text search. The state lives in
// the URL fragment (#severity=error,critical&category=security&namespace=shop&q=gateway) so a
// filtered view can be linked to and is applied on load.
(function () {
  "use strict";
  var form = document.getElementById("filters");
  if (!form) {
    return;
  }
  var rows = Array.prototype.slice.call(document.querySelectorAll("tr.finding"));
  var groups = Array.prototype.slice.call(document.querySelectorAll("details.rule-group"));
  var sections = Array.prototype.slice.call(document.querySelectorAll("section.category"));
  var status = document.getElementById("filter-status");
  var noMatch = document.getElementById("no-match");
  var severities = Array.prototype.slice.call(form.querySelectorAll('input[name="severity"]'));
  var haystacks = null;

  // Group of each row, and the search text of each row (built on the first search).
  var rowGroup = rows.map(function (row) {
    return row.closest("details.rule-group");
  });
  function buildHaystacks() {
    haystacks = rows.map(function (row, index) {
      var group = rowGroup[index];
      var code = group ? group.getAttribute("data-code") + " " + group.querySelector("summary").textContent : "";
      return (row.textContent + " " + code).toLowerCase();
    });
  }

  function readForm() {
    return {
      severity: severities.filter(function (box) { return box.checked; }).map(function (box) { return box.value; }),
      category: form.elements.category.value,
      namespace: form.elements.namespace.value,
      q: form.elements.q.value
    };
  }

  function allSeverities() {
    return severities.map(function (box) { return box.value; });
  }

  function writeForm(state) {
    severities.forEach(function (box) {
      box.checked = state.severity.indexOf(box.value) >= 0;
    });
    setSelect(form.elements.category, state.category);
    setSelect(form.elements.namespace, state.namespace);
    form.elements.q.value = state.q;
  }

  function setSelect(select, value) {
    var known = Array.prototype.some.call(select.options, function (option) { return option.value === value; });
    select.value = known ? value : "";
  }

  function parseHash() {
    var hash = window.location.hash.replace(/^#/, "");
    if (hash.indexOf("=") < 0) {
      return null;
    }
    var state = { severity: allSeverities(), category: "", namespace: "", q: "" };
    hash.split("&").forEach(function (pair) {
      var at = pair.indexOf("=");
      if (at < 0) {
        return;
      }
      var key = decodeURIComponent(pair.slice(0, at));
      var value = decodeURIComponent(pair.slice(at + 1).replace(/\+/g, " "));
      if (key === "severity") {
        state.severity = value.split(",").filter(function (name) { return name !== ""; });
      } else if (key === "category" || key === "namespace" || key === "q") {
        state[key] = value;
      }
    });
    return state;
  }

  function toHash(state) {
    var parts = [];
    if (state.severity.length !== severities.length) {
      parts.push("severity=" + state.severity.map(encodeURIComponent).join(","));
    }
    ["category", "namespace", "q"].forEach(function (key) {
      if (state[key]) {
        parts.push(key + "=" + encodeURIComponent(state[key]));
      }
    });
    return parts.join("&");
  }

  function apply(state) {
    var wanted = {};
    state.severity.forEach(function (name) { wanted[name] = true; });
    var query = state.q.trim().toLowerCase();
    if (query && !haystacks) {
      buildHaystacks();
    }
    var filtered = state.severity.length !== severities.length || state.namespace !== "" || query !== "";
    var visible = 0;
    var shownInGroup = new Map();
    rows.forEach(function (row, index) {
      var show = wanted[row.getAttribute("data-sev")] === true &&
        (state.namespace === "" || row.getAttribute("data-ns") === state.namespace) &&
        (query === "" || haystacks[index].indexOf(query) >= 0);
      row.hidden = !show;
      if (show) {
        visible += 1;
        var group = rowGroup[index];
        shownInGroup.set(group, (shownInGroup.get(group) || 0) + 1);
      }
    });
    groups.forEach(function (group) {
      var shown = shownInGroup.get(group) || 0;
      var total = group.querySelectorAll("tr.finding").length;
      var counter = group.querySelector(".shown");
      if (counter) {
        if (!counter.hasAttribute("data-total")) {
          counter.setAttribute("data-total", counter.textContent);
        }
        counter.textContent = filtered ? shown + " of " + total + " shown" : counter.getAttribute("data-total");
      }
      group.hidden = filtered && shown === 0;
      if (filtered && shown > 0 && (query !== "" || state.namespace !== "")) {
        group.open = true;
      }
    });
    var sectionsShown = 0;
    sections.forEach(function (section) {
      var inCategory = state.category === "" || section.getAttribute("data-cat") === state.category;
      var hasRows = section.querySelector("details.rule-group:not([hidden])") !== null;
      section.hidden = !inCategory || (filtered && !hasRows);
      if (!section.hidden && hasRows) {
        sectionsShown += 1;
      }
    });
    if (state.category !== "") {
      visible = 0;
      rows.forEach(function (row, index) {
        var section = rowGroup[index] && rowGroup[index].closest("section.category");
        if (!row.hidden && section && !section.hidden) {
          visible += 1;
        }
      });
    }
    if (noMatch) {
      noMatch.hidden = !(rows.length > 0 && (visible === 0 || sectionsShown === 0));
    }
    if (status) {
      status.textContent = filtered || state.category !== ""
        ? "Showing " + visible + " of " + rows.length + " findings listed on this page."
        : rows.length + " findings listed on this page.";
    }
    document.body.setAttribute("data-filtered", filtered || state.category !== "" ? "true" : "false");
  }

  function update() {
    var state = readForm();
    apply(state);
    var hash = toHash(state);
    var url = window.location.pathname + window.location.search + (hash ? "#" + hash : "");
    window.history.replaceState(null, "", url);
  }

  var searchTimer = 0;
  form.addEventListener("change", update);
  form.addEventListener("input", function (event) {
    if (event.target && event.target.name === "q") {
      window.clearTimeout(searchTimer);
      searchTimer = window.setTimeout(update, 150);
    }
  });
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    update();
  });
  form.addEventListener("reset", function () {
    window.setTimeout(update, 0);
  });
  document.getElementById("expand-all").addEventListener("click", function () {
    groups.forEach(function (group) { if (!group.hidden) { group.open = true; } });
  });
  document.getElementById("collapse-all").addEventListener("click", function () {
    groups.forEach(function (group) { group.open = false; });
  });
  window.addEventListener("hashchange", function () {
    var state = parseHash();
    if (state) {
      writeForm(state);
      apply(readForm());
    }
  });

  // Printing shows every group; the groups closed before are closed again afterwards.
  var closedBeforePrint = [];
  window.addEventListener("beforeprint", function () {
    closedBeforePrint = groups.filter(function (group) { return !group.open; });
    closedBeforePrint.forEach(function (group) { group.open = true; });
  });
  window.addEventListener("afterprint", function () {
    closedBeforePrint.forEach(function (group) { group.open = false; });
    closedBeforePrint = [];
  });

  // The form is the state: a fragment naming an unknown namespace or category falls back to all.
  var initial = parseHash();
  if (initial) {
    writeForm(initial);
  }
  apply(readForm());
})();

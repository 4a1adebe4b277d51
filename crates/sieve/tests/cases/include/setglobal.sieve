require ["include", "variables", "fileinto"];
global "folder";
set "folder" "Set-By-Include";
fileinto "Included";
